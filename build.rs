//! Puts the schema version (the newest migration's number) into the binary, so that
//! `faultbook --version` can print it without opening a database.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    let newest = std::fs::read_dir("migrations")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.split('_').next()?.parse::<i64>().ok()
                })
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0);
    println!("cargo:rustc-env=FAULTBOOK_SCHEMA={newest}");
}
