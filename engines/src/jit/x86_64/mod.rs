//! The x86_64 backend: one encoder ([`asm`]) shared by the classic JIT
//! ("old-jit", [`ClassicJit`]) and the eBPF JIT ("ext-jit", [`EbpfJit`]),
//! the emitter that settles jump sizes, the packet-load code both emit the
//! same way, and the call stub and Rust helpers at the boundary.

pub mod asm;
mod classic;
mod ebpf;
mod emit;
mod packet;
mod runtime;

pub use classic::ClassicJit;
pub use ebpf::EbpfJit;
pub use runtime::Compiled;
