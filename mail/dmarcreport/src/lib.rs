//! DMARC aggregate reports (RFC 7489 7.2 and appendix C) read from XML,
//! gzip (RFC 1952) and zip containers, or from the MIME message they arrive
//! in, and summarised so forwarding stands out from spoofing. no_std.
//!
//! Sans-IO: bytes in, a [`Report`] or a [`Summary`] out. The image calls
//! [`summarise_message`] on mail for its `rua` address and counts the
//! result in [`Counters`]; the host tool (`unimail dmarc-report`) reads
//! files and Maildir folders with the same functions.
//!
//! ```
//! let xml = br#"<feedback><report_metadata><org_name>google.com</org_name>
//!   <report_id>1</report_id><date_range><begin>0</begin><end>86400</end></date_range>
//!   </report_metadata><policy_published><domain>example.org</domain><p>none</p></policy_published>
//!   <record><row><source_ip>192.0.2.10</source_ip><count>3</count><policy_evaluated>
//!   <disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>
//!   <identifiers><header_from>example.org</header_from></identifiers></record></feedback>"#;
//! let report = mail_dmarc_report::parse_report(xml, &Default::default()).unwrap();
//! let summary = mail_dmarc_report::Summary::from_reports(&[report]);
//! assert_eq!(summary.totals(), [3, 0, 0]);
//! ```

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod container;
pub mod report;
pub mod summary;
pub mod xml;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

pub use container::ContainerError;
pub use report::{AuthResult, Disposition, DkimAuth, PolicyPublished, Reason, Record, Report, SchemaError, SpfAuth};
pub use summary::{classify, Class, Counters, ReportInfo, SourceRow, Summary};
pub use xml::{Element, XmlError, XmlLimits};

/// Bounds for one report or one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of XML after decompression (large providers send a few MB).
    pub max_xml: usize,
    pub xml: XmlLimits,
    /// Report attachments read from one message.
    pub max_attachments: usize,
}

/// Sized for the image's fixed heap: the element tree costs roughly 100
/// bytes per element plus the text, so these bound one report to a few
/// MiB. A small domain's daily report is a few KiB.
impl Default for Limits {
    fn default() -> Self {
        Limits { max_xml: 2 << 20, xml: XmlLimits { max_depth: 32, max_elements: 50_000 }, max_attachments: 4 }
    }
}

impl Limits {
    /// For the host tool, which may read a large provider's reports.
    pub fn host() -> Limits {
        Limits { max_xml: 64 << 20, xml: XmlLimits { max_depth: 32, max_elements: 4_000_000 }, max_attachments: 16 }
    }
}

/// Why a report could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    Container(ContainerError),
    Xml(XmlError),
    Schema(SchemaError),
    /// Plain XML above [`Limits::max_xml`].
    TooLarge(usize),
    /// A message with no attachment that looks like a report.
    NoReport,
    /// An attachment of a message failed; its file name (or part number).
    Attachment(String, alloc::boxed::Box<Error>),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Container(e) => write!(f, "{e}"),
            Error::Xml(e) => write!(f, "{e}"),
            Error::Schema(e) => write!(f, "not a DMARC aggregate report: {e}"),
            Error::TooLarge(n) => write!(f, "report larger than {n} bytes"),
            Error::NoReport => write!(f, "no DMARC report attachment (XML, .gz or .zip) in the message"),
            Error::Attachment(name, e) => write!(f, "attachment {name}: {e}"),
        }
    }
}

/// Read one report from plain XML, gzip or zip bytes (by magic number).
pub fn parse_report(data: &[u8], limits: &Limits) -> Result<Report, Error> {
    let inflated;
    let xml = match container::kind(data) {
        container::Kind::Gzip => {
            inflated = container::gunzip(data, limits.max_xml).map_err(Error::Container)?;
            &inflated[..]
        }
        container::Kind::Zip => {
            inflated = container::unzip(data, limits.max_xml).map_err(Error::Container)?;
            &inflated[..]
        }
        container::Kind::Plain if data.len() > limits.max_xml => return Err(Error::TooLarge(limits.max_xml)),
        container::Kind::Plain => data,
    };
    let root = xml::parse(xml, &limits.xml).map_err(Error::Xml)?;
    Report::from_xml(&root).map_err(Error::Schema)
}

/// RFC 7489 7.2.1.1: the report is an attachment, `application/gzip`,
/// `application/zip` or XML (reporters also use `application/x-zip-compressed`,
/// `application/octet-stream` with a telling file name, or a message whose
/// whole body is the report).
fn is_report_part(p: &mail_mime::Part<'_>) -> bool {
    let ct = &p.content_type;
    let name = p.filename().unwrap_or("").to_ascii_lowercase();
    let by_name = [".xml", ".gz", ".zip", ".xml.gz"].iter().any(|s| name.ends_with(s));
    let by_type = matches!(
        (ct.main.as_str(), ct.sub.as_str()),
        ("application", "gzip" | "x-gzip" | "zip" | "x-zip" | "x-zip-compressed" | "xml") | ("text", "xml")
    );
    by_type || by_name
}

/// Every report attached to a MIME message (RFC 5322 bytes).
pub fn reports_in_message(raw: &[u8], limits: &Limits) -> Result<Vec<Report>, Error> {
    let m = mail_mime::Message::parse(raw);
    let mut out = Vec::new();
    for (n, i) in m.leaves().filter(|&i| is_report_part(&m.parts[i])).enumerate() {
        if n >= limits.max_attachments {
            break;
        }
        let body = m.decoded_body(i);
        match parse_report(&body, limits) {
            Ok(r) => out.push(r),
            Err(e) => {
                let name = match m.parts[i].filename() {
                    Some(f) => String::from(f),
                    None => alloc::format!("part {}", n + 1),
                };
                return Err(Error::Attachment(name, alloc::boxed::Box::new(e)));
            }
        }
    }
    if out.is_empty() {
        return Err(Error::NoReport);
    }
    Ok(out)
}

/// The image's entry point (issue 9 item 6): the summary of the reports
/// in one message, with default limits.
pub fn summarise_message(raw: &[u8]) -> Result<Summary, Error> {
    summarise_message_with(raw, &Limits::default())
}

pub fn summarise_message_with(raw: &[u8], limits: &Limits) -> Result<Summary, Error> {
    reports_in_message(raw, limits).map(|r| Summary::from_reports(&r))
}
