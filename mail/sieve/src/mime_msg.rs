//! [`Message`] over the workspace's MIME parser (mail-mime): what delivery
//! uses. Header values are unfolded and RFC 2047-decoded (RFC 5228 2.7.2),
//! body parts transfer- and charset-decoded (RFC 5173 5).

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use mail_mime::Body;

use crate::compile::BodyTransform;
use crate::eval::Message;

pub struct MimeMessage<'a> {
    pub msg: mail_mime::Message<'a>,
}

impl<'a> MimeMessage<'a> {
    pub fn new(msg: mail_mime::Message<'a>) -> Self {
        MimeMessage { msg }
    }
    pub fn parse(raw: &'a [u8]) -> Self {
        MimeMessage { msg: mail_mime::Message::parse(raw) }
    }

    fn part_text(&self, i: usize) -> String {
        match self.msg.text(i) {
            Some(t) => t,
            None => String::from_utf8_lossy(&self.msg.decoded_body(i)).into_owned(),
        }
    }

    fn type_matches(&self, i: usize, want: &str) -> bool {
        let ct = &self.msg.parts[i].content_type;
        let w = want.to_ascii_lowercase();
        match w.split_once('/') {
            _ if w.is_empty() => true,
            Some((main, sub)) => ct.main.eq_ignore_ascii_case(main) && ct.sub.eq_ignore_ascii_case(sub),
            None => ct.main.eq_ignore_ascii_case(&w),
        }
    }
}

impl Message for MimeMessage<'_> {
    fn header(&self, name: &str) -> Vec<String> {
        self.msg.header().get_all(name).map(|f| f.text().trim().to_string()).collect()
    }

    fn size(&self) -> u64 {
        self.msg.raw.len() as u64
    }

    fn body(&self, t: &BodyTransform) -> Vec<String> {
        match t {
            // RFC 5173 5.1: the undecoded body of the whole message.
            BodyTransform::Raw => alloc::vec![String::from_utf8_lossy(self.msg.body_raw(0)).into_owned()],
            // RFC 5173 5.3: :text is :content "text".
            BodyTransform::Text => self
                .msg
                .leaves()
                .filter(|&i| self.msg.parts[i].content_type.main == "text")
                .map(|i| self.part_text(i))
                .collect(),
            // RFC 5173 5.2: decoded leaf parts of the listed types.
            BodyTransform::Content(types) => self
                .msg
                .leaves()
                .filter(|&i| self.msg.parts[i].kind == Body::Leaf && types.iter().any(|w| self.type_matches(i, w)))
                .map(|i| self.part_text(i))
                .collect(),
        }
    }
}
