// A photo taken for a photo search, kept on the phone (IndexedDB) so that the case form can
// attach it when the tech files a case from the results. It never goes to the server otherwise.
const PHOTO_DB = "faultbook-photo";

/** Keeps the photo on the phone (IndexedDB) for the case form to attach; resolves true if kept. */
export function keepPhotoForCase(blob) {
  return new Promise((resolve) => {
    if (!window.indexedDB) { resolve(false); return; }
    const open = indexedDB.open(PHOTO_DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore("photo");
    open.onerror = () => resolve(false);
    open.onsuccess = () => {
      const tx = open.result.transaction("photo", "readwrite");
      tx.objectStore("photo").put(blob, "alarm");
      tx.oncomplete = () => resolve(true);
      tx.onerror = () => resolve(false);
    };
  });
}

/** The photo kept by the last photo search; `take` removes it as it is read. */
export function keptPhoto(take) {
  return new Promise((resolve) => {
    if (!window.indexedDB) { resolve(null); return; }
    const open = indexedDB.open(PHOTO_DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore("photo");
    open.onerror = () => resolve(null);
    open.onsuccess = () => {
      const tx = open.result.transaction("photo", take ? "readwrite" : "readonly");
      const store = tx.objectStore("photo");
      const get = store.get("alarm");
      get.onsuccess = () => { if (take) store.delete("alarm"); resolve(get.result || null); };
      get.onerror = () => resolve(null);
    };
  });
}
