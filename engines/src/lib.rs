//! bpflab's engines: everything that reads, checks, converts, compiles and
//! runs a BPF filter. No measuring and no scenarios live here.
//!
//! The flow is `classic::read` → `classic::check` → [`Filter::attach`] →
//! [`Filter::run`] on an [`Skb`].

pub mod classic;
pub mod engine;
pub mod filter;
pub mod skb;

pub use engine::Engine;
pub use filter::{AttachError, Filter};
pub use skb::{Device, Meta, Skb};
