fn main() {
    eprintln!("unimail: not yet");
    std::process::exit(2);
}
