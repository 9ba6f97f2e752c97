//! The emitter: the encoder plus labels, with jump sizes settled by
//! repeated passes so that every jump that can be short uses rel8.
//!
//! A JIT's code generator is a deterministic function of the program run
//! once per pass. The first pass makes every jump long (rel32). Each later
//! pass makes a jump short when, measured on the previous pass, its target
//! was within rel8 reach (or, for a backward jump, is within reach now).
//! Since code only ever shrinks from pass to pass, a distance measured on
//! the previous pass bounds the distance in this one, and a jump once short
//! stays short. Passes stop when no jump changed size. After every pass all
//! displacements are patched from the label positions of that very pass
//! and each is checked to fit, so any pass's output is correct code; later
//! passes only make it smaller.

use super::asm::{Code, Cond, fits_i8};
use crate::jit::JitError;
use std::ops::{Deref, DerefMut};

/// Passes after which the code is kept even if a jump could still shrink.
const MAX_PASSES: usize = 16;

/// A position in the code, placed with [`Emitter::bind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Label(usize);

/// A jump or call emitted in this pass, to be patched at its end.
#[derive(Clone, Copy, Debug)]
struct Jump {
    label: Label,
    /// Offset of the displacement field.
    field: usize,
    /// Offset just past the instruction (what displacements count from).
    end: usize,
    /// rel8 rather than rel32.
    short: bool,
}

/// The encoder with labels and jump-size passes.
#[derive(Debug, Default)]
pub(crate) struct Emitter {
    code: Code,
    labels: Vec<Option<usize>>,
    prev_labels: Vec<Option<usize>>,
    jumps: Vec<Jump>,
    prev_jumps: Vec<Jump>,
}

impl Deref for Emitter {
    type Target = Code;

    fn deref(&self) -> &Code {
        &self.code
    }
}

impl DerefMut for Emitter {
    fn deref_mut(&mut self) -> &mut Code {
        &mut self.code
    }
}

/// Runs `generate` in passes until jump sizes settle; returns the code and
/// what the last pass of `generate` returned.
pub(crate) fn assemble<T>(
    mut generate: impl FnMut(&mut Emitter) -> Result<T, JitError>,
) -> Result<(Vec<u8>, T), JitError> {
    let mut e = Emitter::default();
    let mut pass = 0;
    loop {
        let out = generate(&mut e)?;
        e.patch()?;
        pass += 1;
        if e.settled() || pass == MAX_PASSES {
            return Ok((e.code.into_bytes(), out));
        }
        e.next_pass();
    }
}

impl Emitter {
    /// A new label, not yet placed.
    pub(crate) fn new_label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Places `label` at the current position.
    pub(crate) fn bind(&mut self, label: Label) {
        let here = self.code.len();
        if let Some(slot) = self.labels.get_mut(label.0) {
            *slot = Some(here);
        }
    }

    /// `jcc label`.
    pub(crate) fn jcc(&mut self, cond: Cond, label: Label) {
        self.jump(Some(cond), label);
    }

    /// `jmp label`.
    pub(crate) fn jmp(&mut self, label: Label) {
        self.jump(None, label);
    }

    /// `call label` (always rel32).
    pub(crate) fn call(&mut self, label: Label) {
        let field = self.code.call_rel32(0);
        self.record(label, field, false);
    }

    fn jump(&mut self, cond: Option<Cond>, label: Label) {
        let short = self.can_be_short(label);
        let field = match (cond, short) {
            (Some(c), true) => self.code.jcc_rel8(c, 0),
            (Some(c), false) => self.code.jcc_rel32(c, 0),
            (None, true) => self.code.jmp_rel8(0),
            (None, false) => self.code.jmp_rel32(0),
        };
        self.record(label, field, short);
    }

    fn record(&mut self, label: Label, field: usize, short: bool) {
        let end = self.code.len();
        self.jumps.push(Jump {
            label,
            field,
            end,
            short,
        });
    }

    /// Whether the next jump, to `label`, may use rel8 (see the module doc).
    fn can_be_short(&self, label: Label) -> bool {
        let here = self.code.len();
        if let Some(Some(target)) = self.labels.get(label.0) {
            let short_len = 2;
            return fits_i8(*target as i64 - (here + short_len) as i64);
        }
        match self.prev_jumps.get(self.jumps.len()) {
            Some(prev) if prev.short => true,
            Some(prev) => match self.prev_labels.get(label.0) {
                Some(Some(target)) => fits_i8(*target as i64 - prev.end as i64),
                _ => false,
            },
            None => false,
        }
    }

    /// Writes every displacement of this pass from this pass's labels.
    fn patch(&mut self) -> Result<(), JitError> {
        for j in &self.jumps {
            let target = match self.labels.get(j.label.0) {
                Some(Some(t)) => *t,
                _ => return Err(JitError::UnboundLabel),
            };
            let distance = target as i64 - j.end as i64;
            if j.short {
                let d =
                    i8::try_from(distance).map_err(|_| JitError::JumpOutOfReach { distance })?;
                self.code.patch_rel8(j.field, d);
            } else {
                let d =
                    i32::try_from(distance).map_err(|_| JitError::JumpOutOfReach { distance })?;
                self.code.patch_rel32(j.field, d);
            }
        }
        Ok(())
    }

    /// Whether this pass chose the same sizes as the previous one.
    fn settled(&self) -> bool {
        self.jumps.len() == self.prev_jumps.len()
            && self
                .jumps
                .iter()
                .zip(&self.prev_jumps)
                .all(|(a, b)| a.short == b.short)
    }

    fn next_pass(&mut self) {
        self.prev_labels = std::mem::take(&mut self.labels);
        self.prev_jumps = std::mem::take(&mut self.jumps);
        self.code.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jit::x86_64::asm::Reg;

    /// `n` forward jumps over a block of `gap` one-byte instructions each.
    fn ladder(e: &mut Emitter, gap: usize) -> Result<usize, JitError> {
        let end = e.new_label();
        let mid = e.new_label();
        e.jcc(Cond::E, end);
        e.jmp(mid);
        for _ in 0..gap {
            e.push(Reg::Rax);
        }
        e.bind(mid);
        e.jmp(end);
        e.bind(end);
        e.ret();
        Ok(e.len())
    }

    #[test]
    fn near_jumps_become_short() {
        let (code, len) = assemble(|e| ladder(e, 10)).expect("assembles");
        assert_eq!(code.len(), len);
        // je +14, jmp +10, 10 pushes, jmp +0, ret
        assert_eq!(&code[..4], &[0x74, 14, 0xeb, 10]);
        assert_eq!(&code[14..], &[0xeb, 0, 0xc3]);
    }

    #[test]
    fn far_jumps_stay_long_and_exact() {
        let (code, _) = assemble(|e| ladder(e, 200)).expect("assembles");
        // Both jumps span the 200-byte gap, so both stay rel32.
        assert_eq!(&code[..2], &[0x0f, 0x84]);
        let je = i32::from_le_bytes([code[2], code[3], code[4], code[5]]);
        let jmp = i32::from_le_bytes([code[7], code[8], code[9], code[10]]);
        assert_eq!(code[6], 0xe9);
        assert_eq!(jmp, 200);
        assert_eq!(6 + je as usize, 11 + 200 + 2);
        assert_eq!(&code[211..], &[0xeb, 0, 0xc3]);
    }

    #[test]
    fn backward_jumps_and_calls() {
        let (code, _) = assemble(|e| {
            let top = e.new_label();
            let sub = e.new_label();
            e.bind(top);
            e.call(sub);
            e.jmp(top);
            e.bind(sub);
            e.ret();
            Ok(())
        })
        .expect("assembles");
        assert_eq!(code, [0xe8, 2, 0, 0, 0, 0xeb, 0xf9, 0xc3]);
    }

    #[test]
    fn unbound_labels_are_errors() {
        let r = assemble(|e| {
            let nowhere = e.new_label();
            e.jmp(nowhere);
            Ok(())
        });
        assert_eq!(r.unwrap_err(), JitError::UnboundLabel);
    }
}
