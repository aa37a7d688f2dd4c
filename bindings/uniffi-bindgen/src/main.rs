//! `uniffi-bindgen generate target/debug/libtimbang_ffi.so --language kotlin|swift|python --out-dir DIR`
//! (`bindings/ffi/generate.sh` runs it for all three). The same uniffi version as the library, so the
//! generated code and the scaffolding always agree.

fn main() {
    uniffi::uniffi_bindgen_main()
}
