//! bpflab's engines: everything that reads, checks, converts, compiles and
//! runs a BPF filter. No measuring and no scenarios live here.
//!
//! The flow is `classic::read` → `classic::check` → [`Filter::attach`]
//! (which, for the `ext` engines, runs `ebpf::convert` and decodes the
//! result once) → [`Filter::run`] on an [`Skb`].

pub mod classic;
pub mod ebpf;
pub mod engine;
pub mod filter;
pub mod fuzz;
pub mod libpcap;
pub mod native;
pub mod packet_bytes;
pub mod rbpf_engine;
pub mod skb;

pub use engine::{Engine, Mode, ParseModeError};
pub use filter::{AttachError, Filter};
pub use skb::{Device, Meta, Skb};

/// Just-in-time compilers to machine code ("old-jit", "ext-jit").
pub mod jit;
