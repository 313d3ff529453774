//! The `discesa` executable (the program is the library's `main`).

fn main() {
    discesa_cli::main(None)
}
