//! Helpers shared by the antivirus integration tests.

use base64ct::{Base64, Encoding};

/// Base64 in 76-column lines with CRLF, as mail carries it.
pub fn b64(data: &[u8]) -> String {
    let s = Base64::encode_string(data);
    s.as_bytes().chunks(76).map(|l| std::str::from_utf8(l).unwrap()).collect::<Vec<_>>().join("\r\n")
}

/// A multipart/mixed message with a text part and `payload` as a base64
/// attachment named `name`.
pub fn attachment_mail(payload: &[u8], name: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nTo: b@example.net\r\nSubject: report\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\n\
         see attached\r\n--XX\r\nContent-Type: application/octet-stream; name=\"{name}\"\r\n\
         Content-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--XX--\r\n",
        b64(payload)
    )
    .into_bytes()
}
