//! Golden tests of the encoder, in the style of Cranelift's emit tests:
//! each row is one encoder call, the bytes the Intel SDM says it encodes
//! to, and the Intel-syntax text iced-x86's decoder reads back from them.

use super::{Alu, Code, Cond, Mem, Reg::*, Shift, Width::*};
use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter, MemorySizeOptions};

/// One encoder call, its bytes in hex, and its disassembly.
type Case = (fn(&mut Code), &'static str, &'static str);

const CASES: &[Case] = &[
    // mov reg, reg
    (|c| c.mov_rr(W32, Rax, Rcx), "89c8", "mov eax,ecx"),
    (|c| c.mov_rr(W64, Rbx, Rdi), "4889fb", "mov rbx,rdi"),
    (|c| c.mov_rr(W64, R13, Rax), "4989c5", "mov r13,rax"),
    (|c| c.mov_rr(W32, R11, R13), "4589eb", "mov r11d,r13d"),
    (|c| c.mov_rr(W64, R9, Rsi), "4989f1", "mov r9,rsi"),
    // mov reg, imm
    (
        |c| c.mov_ri32(Rax, 0x1234_5678),
        "b878563412",
        "mov eax,12345678h",
    ),
    (|c| c.mov_ri32(R11, 2), "41bb02000000", "mov r11d,2"),
    (
        |c| c.mov_ri64_sx(Rax, -1),
        "48c7c0ffffffff",
        "mov rax,0FFFFFFFFFFFFFFFFh",
    ),
    (|c| c.mov_ri64_sx(R14, 5), "49c7c605000000", "mov r14,5"),
    (
        |c| c.movabs(Rax, 0x1122_3344_5566_7788),
        "48b88877665544332211",
        "mov rax,1122334455667788h",
    ),
    (
        |c| c.movabs(R11, 0x7fff_0000_1234_5678),
        "49bb78563412_0000ff7f",
        "mov r11,7FFF000012345678h",
    ),
    (|c| c.mov_ri64(Rcx, 5), "b905000000", "mov ecx,5"),
    (
        |c| c.mov_ri64(Rcx, -2i64 as u64),
        "48c7c1feffffff",
        "mov rcx,0FFFFFFFFFFFFFFFEh",
    ),
    (
        |c| c.mov_ri64(R9, 1 << 32),
        "49b90000000001000000",
        "mov r9,100000000h",
    ),
    // ALU reg, reg
    (|c| c.alu_rr(Alu::Add, W32, Rax, Rcx), "01c8", "add eax,ecx"),
    (
        |c| c.alu_rr(Alu::Sub, W64, R14, R15),
        "4d29fe",
        "sub r14,r15",
    ),
    (|c| c.alu_rr(Alu::Xor, W32, Rax, Rax), "31c0", "xor eax,eax"),
    (
        |c| c.alu_rr(Alu::Xor, W32, R13, R13),
        "4531ed",
        "xor r13d,r13d",
    ),
    (|c| c.alu_rr(Alu::And, W32, Rax, Rcx), "21c8", "and eax,ecx"),
    (|c| c.alu_rr(Alu::Or, W64, Rax, Rdx), "4809d0", "or rax,rdx"),
    (|c| c.alu_rr(Alu::Cmp, W32, Rax, Rcx), "39c8", "cmp eax,ecx"),
    (
        |c| c.alu_rr(Alu::Cmp, W64, Rbx, R13),
        "4c39eb",
        "cmp rbx,r13",
    ),
    // ALU reg, imm (imm8 and imm32)
    (|c| c.alu_ri(Alu::Add, W32, Rax, 1), "83c001", "add eax,1"),
    (
        |c| c.alu_ri(Alu::Add, W32, Rax, 0x1000),
        "81c000100000",
        "add eax,1000h",
    ),
    (
        |c| c.alu_ri(Alu::Sub, W64, R8, -128),
        "4983e880",
        "sub r8,0FFFFFFFFFFFFFF80h",
    ),
    (
        |c| c.alu_ri(Alu::And, W32, Rax, 0xf),
        "83e00f",
        "and eax,0Fh",
    ),
    (
        |c| c.alu_ri(Alu::Cmp, W32, Rax, 0x86dd),
        "81f8dd860000",
        "cmp eax,86DDh",
    ),
    (
        |c| c.alu_ri(Alu::Cmp, W32, R10, 0x10),
        "4183fa10",
        "cmp r10d,10h",
    ),
    (
        |c| c.alu_ri(Alu::Xor, W64, R15, 127),
        "4983f77f",
        "xor r15,7Fh",
    ),
    (
        |c| c.alu_ri(Alu::Or, W32, Rcx, -129),
        "81c97fffffff",
        "or ecx,0FFFFFF7Fh",
    ),
    // test
    (|c| c.test_rr(W32, Rax, Rax), "85c0", "test eax,eax"),
    (|c| c.test_rr(W64, R13, R13), "4d85ed", "test r13,r13"),
    (|c| c.test_rr(W32, Rax, Rcx), "85c8", "test eax,ecx"),
    (
        |c| c.test_ri(W32, Rax, 0x1fff),
        "f7c0ff1f0000",
        "test eax,1FFFh",
    ),
    (
        |c| c.test_ri(W64, R14, -1),
        "49f7c6ffffffff",
        "test r14,0FFFFFFFFFFFFFFFFh",
    ),
    // multiply, divide, negate
    (|c| c.imul_rr(W32, Rax, Rcx), "0fafc1", "imul eax,ecx"),
    (|c| c.imul_rr(W64, R13, Rax), "4c0fafe8", "imul r13,rax"),
    (
        |c| c.imul_rri(W32, Rax, Rcx, 10),
        "6bc10a",
        "imul eax,ecx,0Ah",
    ),
    (
        |c| c.imul_rri(W64, R14, Rbx, 1000),
        "4c69f3e8030000",
        "imul r14,rbx,3E8h",
    ),
    (|c| c.div(W32, Rcx), "f7f1", "div ecx"),
    (|c| c.div(W64, R11), "49f7f3", "div r11"),
    (|c| c.zero_div_high(), "31d2", "xor edx,edx"),
    (|c| c.neg(W32, Rax), "f7d8", "neg eax"),
    (|c| c.neg(W64, R15), "49f7df", "neg r15"),
    // shifts and rotates
    (
        |c| c.shift_ri(Shift::Shl, W32, Rax, 2),
        "c1e002",
        "shl eax,2",
    ),
    (|c| c.shift_ri(Shift::Shr, W32, Rax, 1), "d1e8", "shr eax,1"),
    (
        |c| c.shift_ri(Shift::Sar, W64, R13, 63),
        "49c1fd3f",
        "sar r13,3Fh",
    ),
    (
        |c| c.shift_ri(Shift::Rol, W32, Rcx, 8),
        "c1c108",
        "rol ecx,8",
    ),
    (
        |c| c.shift_ri(Shift::Ror, W64, Rax, 3),
        "48c1c803",
        "ror rax,3",
    ),
    (|c| c.shift_cl(Shift::Shl, W32, Rax), "d3e0", "shl eax,cl"),
    (|c| c.shift_cl(Shift::Shr, W64, R11), "49d3eb", "shr r11,cl"),
    (|c| c.shift_cl(Shift::Sar, W32, Rdx), "d3fa", "sar edx,cl"),
    // byte swaps and zero extension
    (|c| c.rol16_8(Rax), "66c1c008", "rol ax,8"),
    (|c| c.rol16_8(R11), "6641c1c308", "rol r11w,8"),
    (|c| c.bswap(W32, Rax), "0fc8", "bswap eax"),
    (|c| c.bswap(W64, R13), "490fcd", "bswap r13"),
    (|c| c.bswap(W32, R11), "410fcb", "bswap r11d"),
    (|c| c.movzx16_rr(Rax, Rax), "0fb7c0", "movzx eax,ax"),
    (|c| c.movzx16_rr(R14, R14), "450fb7f6", "movzx r14d,r14w"),
    // loads from [base + index + disp] and [base + disp]
    (
        |c| c.load8(Rax, Mem::base(R9, 14)),
        "410fb6410e",
        "movzx eax,byte ptr [r9+0Eh]",
    ),
    (
        |c| c.load8(Rcx, Mem::indexed(R9, R11, -1)),
        "430fb64c19ff",
        "movzx ecx,byte ptr [r9+r11-1]",
    ),
    (
        |c| c.load16(Rax, Mem::base(R9, 0x1000)),
        "410fb78100100000",
        "movzx eax,word ptr [r9+1000h]",
    ),
    (
        |c| c.load16(Rax, Mem::indexed(R9, R11, -2)),
        "430fb74419fe",
        "movzx eax,word ptr [r9+r11-2]",
    ),
    (
        |c| c.load(W32, Rax, Mem::base(R9, 12)),
        "418b410c",
        "mov eax,dword ptr [r9+0Ch]",
    ),
    (
        |c| c.load(W32, Rax, Mem::base(R9, 0)),
        "418b01",
        "mov eax,dword ptr [r9]",
    ),
    (
        |c| c.load(W32, Rax, Mem::indexed(R9, R11, -4)),
        "438b4419fc",
        "mov eax,dword ptr [r9+r11-4]",
    ),
    (
        |c| c.load(W32, Rax, Mem::base(Rdi, 20)),
        "8b4714",
        "mov eax,dword ptr [rdi+14h]",
    ),
    (
        |c| c.load(W32, Rax, Mem::base(Rbx, 0)),
        "8b03",
        "mov eax,dword ptr [rbx]",
    ),
    (
        |c| c.load(W32, Rax, Mem::base(Rbp, 0)),
        "8b4500",
        "mov eax,dword ptr [rbp]",
    ),
    (
        |c| c.load(W32, Rax, Mem::base(R13, 0)),
        "418b4500",
        "mov eax,dword ptr [r13]",
    ),
    (
        |c| c.load(W32, Rax, Mem::base(Rsp, 8)),
        "8b442408",
        "mov eax,dword ptr [rsp+8]",
    ),
    (
        |c| c.load(W32, Rax, Mem::base(R12, 0)),
        "418b0424",
        "mov eax,dword ptr [r12]",
    ),
    (
        |c| c.load(W32, R13, Mem::base(Rbp, -4)),
        "448b6dfc",
        "mov r13d,dword ptr [rbp-4]",
    ),
    (
        |c| c.load(W64, Rdi, Mem::base(Rbp, -520)),
        "488bbdf8fdffff",
        "mov rdi,qword ptr [rbp-208h]",
    ),
    (
        |c| c.load(W32, Rax, Mem::indexed(R13, R12, 0)),
        "438b442500",
        "mov eax,dword ptr [r13+r12]",
    ),
    (
        |c| c.load(W32, Rax, Mem::indexed(Rax, Rsp, 0)),
        "8b0404",
        "mov eax,dword ptr [rsp+rax]",
    ),
    // stores
    (
        |c| c.store(W32, Mem::base(Rbp, -4), Rax),
        "8945fc",
        "mov dword ptr [rbp-4],eax",
    ),
    (
        |c| c.store(W64, Mem::base(Rbp, -8), Rcx),
        "48894df8",
        "mov qword ptr [rbp-8],rcx",
    ),
    (
        |c| c.store(W32, Mem::base(Rbp, -200), R13),
        "4489ad38ffffff",
        "mov dword ptr [rbp-0C8h],r13d",
    ),
    (
        |c| c.store_imm32(Mem::base(Rbp, -4), 7),
        "c745fc07000000",
        "mov dword ptr [rbp-4],7",
    ),
    // lea
    (
        |c| c.lea(W32, R11, Mem::base(R13, 14)),
        "458d5d0e",
        "lea r11d,[r13+0Eh]",
    ),
    (
        |c| c.lea(W32, R11, Mem::base(Rcx, -5)),
        "448d59fb",
        "lea r11d,[rcx-5]",
    ),
    (
        |c| c.lea(W64, R11, Mem::base(R11, 4)),
        "4d8d5b04",
        "lea r11,[r11+4]",
    ),
    (
        |c| c.lea(W32, Rsi, Mem::base(Rcx, 0x7fff_ffff)),
        "8db1ffffff7f",
        "lea esi,[rcx+7FFFFFFFh]",
    ),
    // stack, calls, returns
    (|c| c.push(Rbp), "55", "push rbp"),
    (|c| c.push(Rbx), "53", "push rbx"),
    (|c| c.push(R13), "4155", "push r13"),
    (|c| c.pop(R15), "415f", "pop r15"),
    (|c| c.pop(Rax), "58", "pop rax"),
    (
        |c| {
            c.call_rel32(-5);
        },
        "e8fbffffff",
        "call 0",
    ),
    (|c| c.call_r(Rax), "ffd0", "call rax"),
    (|c| c.call_r(R11), "41ffd3", "call r11"),
    (|c| c.ret(), "c3", "ret"),
    (|c| c.leave(), "c9", "leave"),
    (|c| c.int3(), "cc", "int3"),
    // jumps, rel8 and rel32 (targets are absolute, the code sits at 0)
    (
        |c| {
            c.jcc_rel8(Cond::E, 0x10);
        },
        "7410",
        "je short 12h",
    ),
    (
        |c| {
            c.jcc_rel8(Cond::Ne.negate().negate(), -2);
        },
        "75fe",
        "jne short 0",
    ),
    (
        |c| {
            c.jcc_rel32(Cond::A, 0x100);
        },
        "0f8700010000",
        "ja 106h",
    ),
    (
        |c| {
            c.jcc_rel32(Cond::Be.negate(), 0);
        },
        "0f8700000000",
        "ja 6",
    ),
    (
        |c| {
            c.jmp_rel8(-2);
        },
        "ebfe",
        "jmp short 0",
    ),
    (
        |c| {
            c.jmp_rel32(0x1234);
        },
        "e934120000",
        "jmp 1239h",
    ),
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes `bytes` at address 0 as exactly one instruction.
fn disassemble(bytes: &[u8]) -> (String, usize) {
    let mut decoder = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE);
    let insn = decoder.decode();
    let mut text = String::new();
    let mut formatter = IntelFormatter::new();
    formatter
        .options_mut()
        .set_memory_size_options(MemorySizeOptions::Always);
    formatter.options_mut().set_branch_leading_zeros(false);
    formatter.format(&insn, &mut text);
    (text, insn.len())
}

#[test]
fn every_encoding_matches_bytes_and_disassembly() {
    let mut failures = Vec::new();
    for (i, (emit, want_hex, want_asm)) in CASES.iter().enumerate() {
        let want_hex = want_hex.replace('_', "");
        let mut code = Code::new();
        emit(&mut code);
        let got_hex = hex(code.bytes());
        let (got_asm, len) = disassemble(code.bytes());
        if got_hex != want_hex || got_asm != *want_asm || len != code.len() {
            failures.push(format!(
                "case {i}: want {want_hex} `{want_asm}`, got {got_hex} `{got_asm}` ({len} of {} bytes decoded)",
                code.len()
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_encoder_function_is_in_the_table() {
    // Functions that encode no instruction.
    const NOT_ENCODERS: &[&str] = &[
        "new",
        "len",
        "is_empty",
        "bytes",
        "into_bytes",
        "clear",
        "patch_rel8",
        "patch_rel32",
        "negate",
        "base",
        "indexed",
        "fits_i8",
    ];
    let source = include_str!("../asm.rs");
    let table = include_str!("golden.rs");
    let table = &table[..table.find("fn hex(").unwrap_or(table.len())];
    let missing: Vec<&str> = source
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub fn "))
        .filter_map(|rest| rest.split('(').next())
        .filter(|name| !NOT_ENCODERS.contains(name))
        .filter(|name| !table.contains(&format!(".{name}(")))
        .collect();
    assert!(
        missing.is_empty(),
        "encoders without a golden row: {missing:?}"
    );
}

#[test]
fn patches_rewrite_displacements() {
    let mut code = Code::new();
    let a = code.jcc_rel8(Cond::B, 0);
    let b = code.jmp_rel32(0);
    code.patch_rel8(a, 3);
    code.patch_rel32(b, -7);
    assert_eq!(hex(code.bytes()), "7203e9f9ffffff");
    assert_eq!(code.len(), 7);
    assert!(!code.is_empty());
    code.clear();
    assert!(code.is_empty());
    assert!(code.into_bytes().is_empty());
}

#[test]
fn conditions_negate_in_pairs() {
    assert_eq!(Cond::E.negate(), Cond::Ne);
    assert_eq!(Cond::A.negate(), Cond::Be);
    assert_eq!(Cond::Ae.negate(), Cond::B);
    assert_eq!(Cond::G.negate(), Cond::Le);
    assert_eq!(Cond::L.negate(), Cond::Ge);
    assert_eq!(Cond::O.negate(), Cond::No);
    assert_eq!(Cond::S.negate(), Cond::Ns);
    assert_eq!(Cond::P.negate(), Cond::Np);
}
