//! The entry ABI of the JIT code, checked from outside: called directly
//! with sentinel values in every callee-saved register, compiled code must
//! return what `run` returns and leave rbx and r12-r15 as it found them,
//! on fast paths, slow paths, helper calls and early exits alike.

mod jit_common;

#[cfg(target_arch = "x86_64")]
mod x86_64 {
    use super::jit_common::{FPROG2, jit_available, packet, program};
    use bpflab_engines::classic::check;
    use bpflab_engines::classic::insn::{Insn, code, skf};
    use bpflab_engines::ebpf::convert;
    use bpflab_engines::ebpf::insn::{Insn as EInsn, helper, op, reg::*, size};
    use bpflab_engines::jit::{ClassicJit, EbpfJit};
    use bpflab_engines::skb::{Context, Skb};
    use std::arch::asm;

    const SENTINELS: [u64; 5] = [
        0x1111_2222_3333_4444,
        0x5555_6666_7777_8888,
        0x9999_aaaa_bbbb_cccc,
        0xdddd_eeee_ffff_0001,
        0x0123_4567_89ab_cdef,
    ];

    /// Calls the code at `entry` with the documented arguments and returns
    /// its result and rbx, r12, r13, r14, r15 after the call.
    fn call_raw(entry: *const u8, skb: &Skb) -> (u32, [u64; 5]) {
        let ctx: *const Context = skb.context();
        let data = skb.data();
        let fastlen = data.len().min(i32::MAX as usize) as u64;
        let [b, mut r12, mut r13, mut r14, mut r15] = SENTINELS;
        let ret: u64;
        let rbx_after: u64;
        // SAFETY: `entry` is the start of code a bpflab JIT generated for
        // the entry ABI (ctx, data, fastlen, skb in rdi, rsi, rdx, rcx); the
        // references outlive the call. Rust cannot name rbx as an operand,
        // so the asm saves it, loads the sentinel, reads it back after the
        // call and restores it (two stack words keep the call aligned);
        // every register the System V ABI lets a callee change is declared
        // clobbered, and the stack is call-aligned at asm entry.
        unsafe {
            asm!(
                "push rbx",
                "sub rsp, 8",
                "mov rbx, {b}",
                "call {f}",
                "mov rsi, rbx",
                "add rsp, 8",
                "pop rbx",
                f = in(reg) entry,
                b = in(reg) b,
                inout("r12") r12,
                inout("r13") r13,
                inout("r14") r14,
                inout("r15") r15,
                inout("rdi") ctx => _,
                inout("rsi") data.as_ptr() => rbx_after,
                inout("rdx") fastlen => _,
                inout("rcx") std::ptr::from_ref(skb) => _,
                out("rax") ret,
                clobber_abi("sysv64"),
            );
        }
        (ret as u32, [rbx_after, r12, r13, r14, r15])
    }

    /// A compiled filter's `run`.
    type Runner = Box<dyn Fn(&Skb) -> u32>;

    fn skbs() -> Vec<Skb> {
        [0, 1, 13, 14, 20, 38, 60, 114]
            .into_iter()
            .map(|n| Skb::from_frame(packet(n)))
            .collect()
    }

    #[test]
    fn callee_saved_registers_survive_every_exit() {
        if !jit_available() {
            return;
        }
        let mut classics = vec![program(FPROG2)];
        classics.push(
            check(vec![
                Insn::stmt(code::LDX_IMM, 3),
                Insn::stmt(code::LD_B_ABS, skf::NET_OFF as u32 + 2),
                Insn::stmt(code::ST, 4),
                Insn::stmt(code::LD_H_ABS, (skf::AD_OFF as u32) + 36),
                Insn::stmt(code::alu_x(0x30), 0),
                Insn::stmt(code::RET_A, 0),
            ])
            .expect("valid"),
        );
        let mut jits: Vec<(String, Runner, *const u8)> = Vec::new();
        for p in &classics {
            let c = ClassicJit::compile(p).expect("compiles");
            let e = EbpfJit::compile(&convert(p).expect("converts")).expect("compiles");
            let (cp, ep) = (c.code().as_ptr(), e.code().as_ptr());
            jits.push(("old-jit".into(), Box::new(move |s| c.run(s)), cp));
            jits.push(("ext-jit".into(), Box::new(move |s| e.run(s)), ep));
        }
        // Every callee-saved eBPF register live, a helper call, a slow load.
        let all = EbpfJit::compile_insns(&[
            EInsn::alu64_reg(op::MOV, R6, R1),
            EInsn::alu64_imm(op::MOV, R7, 7),
            EInsn::alu64_imm(op::MOV, R8, 8),
            EInsn::alu64_imm(op::MOV, R9, 9),
            EInsn::call(helper::CPU),
            EInsn::ldx_mem(size::W, R0, R6, 0),
            EInsn::alu64_reg(op::ADD, R0, R7),
            EInsn::alu64_reg(op::ADD, R0, R8),
            EInsn::alu64_reg(op::ADD, R0, R9),
            EInsn::alu64_reg(op::MOV, R7, R0),
            EInsn::ld_abs(size::H, skf::LL_OFF + 4),
            EInsn::alu64_reg(op::ADD, R0, R7),
            EInsn::exit(),
        ])
        .expect("compiles");
        let ap = all.code().as_ptr();
        jits.push(("ext-jit, R6-R9".into(), Box::new(move |s| all.run(s)), ap));
        for (name, run, entry) in &jits {
            for skb in skbs() {
                let (got, regs) = call_raw(*entry, &skb);
                assert_eq!(got, run(&skb), "{name} on {} bytes", skb.len());
                assert_eq!(regs, SENTINELS, "{name} on {} bytes", skb.len());
            }
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[test]
fn callee_saved_registers_survive_every_exit() {
    eprintln!("skipping the x86_64 ABI test on this architecture");
}
