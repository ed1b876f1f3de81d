//! The wiring as the fabric reports it — `ibnetdiscover` output (InfiniBand) or
//! `lldpctl -f json` (LLDP on Ethernet) — read into one list of cables (host, NIC,
//! switch, port), and compared exactly with a declared NIC → leaf list.

pub mod compare;
pub mod ibnetdiscover;
pub mod link;
pub mod lldp;

pub use compare::{compare, declared, Attachment, Difference};
pub use link::{Cable, WiringError};

/// Which reader to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Ibnetdiscover,
    Lldp,
    /// LLDP when the text starts with `{`, ibnetdiscover otherwise.
    Auto,
}

/// The cables in `text`, read from `file` in `format`; `host` names the host of LLDP
/// data (lldpctl does not).
pub fn parse(
    file: &str,
    text: &str,
    format: Format,
    host: &str,
) -> Result<Vec<link::Cable>, link::WiringError> {
    let lldp = match format {
        Format::Lldp => true,
        Format::Ibnetdiscover => false,
        Format::Auto => text.trim_start().starts_with('{'),
    };
    if lldp {
        lldp::parse(file, text, host)
    } else {
        ibnetdiscover::parse(file, text)
    }
}

/// The attachments (host, NIC, switch) of `cables`, for [`compare::compare`].
pub fn attachments(cables: &[link::Cable]) -> Vec<compare::Attachment> {
    cables
        .iter()
        .map(|c| compare::Attachment::new(&c.host, &c.nic, &c.switch))
        .collect()
}
