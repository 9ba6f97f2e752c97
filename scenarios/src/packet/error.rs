//! Why a frame description cannot be encoded: a field that does not fit
//! the header field it goes into. The builder refuses rather than truncate,
//! so a frame never silently differs from what was asked for.

use thiserror::Error;

/// A frame description that no header can carry.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum PacketError {
    /// More IPv4 options than the 4-bit IHL can cover.
    #[error("IPv4 options are {len} bytes; at most 40 fit (IHL 15)")]
    Ipv4OptionsTooLong {
        /// The options' length in bytes.
        len: usize,
    },
    /// More TCP options than the 4-bit data offset can cover.
    #[error("TCP options are {len} bytes; at most 40 fit (data offset 15)")]
    TcpOptionsTooLong {
        /// The options' length in bytes.
        len: usize,
    },
    /// A fragment offset beyond the 13-bit field.
    #[error("fragment offset {offset} does not fit 13 bits (at most 8191 units of 8 bytes)")]
    FragmentOffsetTooLarge {
        /// The offset asked for, in 8-byte units.
        offset: u16,
    },
    /// A flow label beyond the 20-bit field.
    #[error("flow label {label:#x} does not fit 20 bits")]
    FlowLabelTooLarge {
        /// The label asked for.
        label: u32,
    },
    /// An IPv6 extension header longer than its 8-bit length field allows.
    #[error("IPv6 extension header would be {len} bytes; at most 2048 fit")]
    ExtensionTooLong {
        /// The header's length in bytes, padding included.
        len: usize,
    },
    /// A datagram longer than its 16-bit length field allows.
    #[error("{what} would be {len} bytes; its length field holds at most 65535")]
    TooLong {
        /// Which length field overflows.
        what: &'static str,
        /// The length it would need to hold.
        len: usize,
    },
}

/// `len` as a 16-bit length field of `what`, or the error saying it does not fit.
pub(crate) fn length_u16(what: &'static str, len: usize) -> Result<u16, PacketError> {
    u16::try_from(len).map_err(|_| PacketError::TooLong { what, len })
}
