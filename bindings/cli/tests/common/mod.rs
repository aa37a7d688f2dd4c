//! What the CLI test files share.
#![allow(dead_code)]

/// `init` of the first phone of posyandu Melati.
pub const INIT: &[&str] = &[
    "init",
    "--posyandu",
    "Melati",
    "--village",
    "Sukamaju",
    "--device",
    "hp-1",
];
