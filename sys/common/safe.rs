//! What the safe layers of nccl-sys (comm.rs) and hccl-sys (handles.rs) share (see
//! mod.rs): methods that each wrap one library call, read-only fields as methods, and the
//! bytes of the opaque id that rank 0 sends the others.

use std::os::raw::c_char;

/// Methods that each call one library function, as a table:
///
/// ```text
/// calls! { via m -> R;
///     /// docs
///     fn name(&self, a: A, b: B) => Sym(a, b, self.raw) [since "x.y"];
/// }
/// ```
///
/// makes `pub unsafe fn name(&self, a: A, b: B) -> R` whose body is `m!(self, Sym(a, b,
/// self.raw) [since "x.y"])`: the crate's macro `m` calls `Sym` and checks what it returns.
macro_rules! calls {
    (via $via:ident -> $ret:ty; $(
        $(#[$meta:meta])*
        fn $name:ident(&$s:ident $(, $a:ident: $t:ty)* $(,)?)
            => $sym:ident($($arg:expr),* $(,)?) $(since $v:literal)?;
    )*) => {
        $(
            $(#[$meta])*
            #[allow(clippy::too_many_arguments)]
            pub unsafe fn $name(&$s $(, $a: $t)*) -> $ret {
                $via!($s, $sym($($arg),*) $(since $v)?)
            }
        )*
    };
}

/// `getters!(a: A, b: B)`: `pub fn a(&self) -> A { self.a }`, and so on, for `Copy` fields.
macro_rules! getters {
    ($($field:ident: $t:ty),* $(,)?) => {
        $(
            pub fn $field(&self) -> $t {
                self.$field
            }
        )*
    };
}

/// Copies `src` into the C characters `dst` of an opaque id, as far as both reach.
pub fn copy_into_chars(dst: &mut [c_char], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s as c_char;
    }
}
