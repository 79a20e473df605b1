// Photos picked for a form: each tap on "Add photo" adds to the ones already chosen (a phone
// camera gives one photo per tap), each can be removed, and they live in the file input itself
// so the form also sends them without any other script. Forms marked data-photo-picker get one.

function same(a, b) {
  return a.name === b.name && a.size === b.size && a.lastModified === b.lastModified;
}

/**
 * Manages the files of `input`, listing them with a thumbnail and a remove button in `list`.
 * Gives { files(), set(files) }.
 */
export function photoPicker(input, list, max) {
  let files = Array.from(input.files || []);
  const limit = max || 10;
  const urls = [];

  function sync() {
    if (window.DataTransfer) {
      try {
        const dt = new DataTransfer();
        files.forEach((f) => dt.items.add(f));
        input.files = dt.files;
      } catch (e) { /* an old browser: the input keeps its last choice */ }
    }
    render();
  }

  function render() {
    if (!list) return;
    urls.splice(0).forEach((u) => URL.revokeObjectURL(u));
    list.textContent = "";
    files.forEach((f, i) => {
      const li = document.createElement("li");
      const img = document.createElement("img");
      const url = URL.createObjectURL(f);
      urls.push(url);
      img.src = url;
      img.alt = "Photo " + (i + 1) + ": " + (f.name || "photo");
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "btn btn-secondary btn-small";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", "Remove photo " + (i + 1));
      remove.addEventListener("click", () => {
        files = files.filter((g) => g !== f);
        sync();
        input.focus();
      });
      li.append(img, remove);
      list.appendChild(li);
    });
    const count = input.form && input.form.querySelector("[data-photo-count]");
    if (count) count.textContent = files.length ? files.length + (files.length === 1 ? " photo" : " photos") + " ready to send." : "";
  }

  input.addEventListener("change", () => {
    const picked = Array.from(input.files || []);
    const added = picked.filter((f) => !files.some((g) => same(f, g)));
    files = files.concat(added).slice(0, limit);
    sync();
  });
  document.documentElement.classList.add("js-photos");
  render();
  return {
    files: () => files.slice(),
    set(list2) { files = Array.from(list2 || []).slice(0, limit); sync(); },
  };
}

document.querySelectorAll("form[data-photo-picker]").forEach((form) => {
  const input = form.querySelector("input[type=file]");
  if (input) photoPicker(input, form.querySelector("[data-photo-list]"));
});
