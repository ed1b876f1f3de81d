//! Element types and reduction operators, spelled as nccl-tests spells them.
//!
//! Values travel through the harness as `f64` (every test value is a small integer, so the
//! conversion is exact) and are encoded into the element type only when a buffer is filled
//! or read back. That keeps the correctness check independent of any backend's arithmetic.

use float8::{F8E4M3, F8E5M2};
use half::{bf16, f16};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    Int8,
    Uint8,
    Int32,
    Uint32,
    Int64,
    Uint64,
    Half,
    Bfloat16,
    Float,
    Double,
    /// fp8 E4M3 (NCCL 2.24+ on sm_90+; HCCL FP8E4M3).
    F8e4m3,
    /// fp8 E5M2.
    F8e5m2,
}

impl DataType {
    pub const ALL: [DataType; 12] = [
        DataType::Int8,
        DataType::Uint8,
        DataType::Int32,
        DataType::Uint32,
        DataType::Int64,
        DataType::Uint64,
        DataType::Half,
        DataType::Float,
        DataType::Double,
        DataType::Bfloat16,
        DataType::F8e4m3,
        DataType::F8e5m2,
    ];

    /// The name nccl-tests prints in its `type` column.
    pub fn name(self) -> &'static str {
        match self {
            DataType::Int8 => "int8",
            DataType::Uint8 => "uint8",
            DataType::Int32 => "int32",
            DataType::Uint32 => "uint32",
            DataType::Int64 => "int64",
            DataType::Uint64 => "uint64",
            DataType::Half => "half",
            DataType::Bfloat16 => "bfloat16",
            DataType::Float => "float",
            DataType::Double => "double",
            DataType::F8e4m3 => "f8e4m3",
            DataType::F8e5m2 => "f8e5m2",
        }
    }

    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            DataType::Int8 => &["i8", "char"],
            DataType::Uint8 => &["u8"],
            DataType::Int32 => &["i32", "int"],
            DataType::Uint32 => &["u32"],
            DataType::Int64 => &["i64"],
            DataType::Uint64 => &["u64"],
            DataType::Half => &["fp16", "float16", "f16"],
            DataType::Bfloat16 => &["bf16"],
            DataType::Float => &["fp32", "float32", "f32"],
            DataType::Double => &["fp64", "float64", "f64"],
            DataType::F8e4m3 => &["fp8_e4m3", "fp8e4m3", "e4m3"],
            DataType::F8e5m2 => &["fp8_e5m2", "fp8e5m2", "e5m2"],
        }
    }

    pub fn size(self) -> usize {
        match self {
            DataType::Int8 | DataType::Uint8 | DataType::F8e4m3 | DataType::F8e5m2 => 1,
            DataType::Half | DataType::Bfloat16 => 2,
            DataType::Int32 | DataType::Uint32 | DataType::Float => 4,
            DataType::Int64 | DataType::Uint64 | DataType::Double => 8,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(
            self,
            DataType::Half
                | DataType::Bfloat16
                | DataType::Float
                | DataType::Double
                | DataType::F8e4m3
                | DataType::F8e5m2
        )
    }

    pub fn is_signed(self) -> bool {
        matches!(self, DataType::Int8 | DataType::Int32 | DataType::Int64) || self.is_float()
    }

    /// Largest integer magnitude the type holds exactly (floats) or its modulus (integers,
    /// whose arithmetic wraps and therefore stays exact at any rank count).
    pub fn exact_integer_limit(self) -> Option<f64> {
        match self {
            DataType::Half => Some(2048.0),
            DataType::Bfloat16 => Some(256.0),
            DataType::Float => Some(16_777_216.0),
            DataType::Double => Some(9_007_199_254_740_992.0),
            DataType::F8e4m3 => Some(16.0),
            DataType::F8e5m2 => Some(8.0),
            _ => None,
        }
    }

    /// Stores `v` at `out[0..size]`, little-endian. Integers wrap modulo 2^bits (as the
    /// reductions of every backend do); floats round to nearest.
    pub fn encode(self, v: f64, out: &mut [u8]) {
        match self {
            DataType::Int8 => out[0] = wrap_i128(v, 8) as u8,
            DataType::Uint8 => out[0] = wrap_i128(v, 8) as u8,
            DataType::Int32 | DataType::Uint32 => {
                out[..4].copy_from_slice(&(wrap_i128(v, 32) as u32).to_le_bytes())
            }
            DataType::Int64 | DataType::Uint64 => {
                out[..8].copy_from_slice(&(wrap_i128(v, 64) as u64).to_le_bytes())
            }
            DataType::Half => out[..2].copy_from_slice(&f16::from_f64(v).to_le_bytes()),
            DataType::Bfloat16 => out[..2].copy_from_slice(&bf16::from_f64(v).to_le_bytes()),
            DataType::Float => out[..4].copy_from_slice(&(v as f32).to_le_bytes()),
            DataType::Double => out[..8].copy_from_slice(&v.to_le_bytes()),
            DataType::F8e4m3 => out[0] = F8E4M3::from_f64(v).to_bits(),
            DataType::F8e5m2 => out[0] = F8E5M2::from_f64(v).to_bits(),
        }
    }

    pub fn decode(self, b: &[u8]) -> f64 {
        match self {
            DataType::Int8 => b[0] as i8 as f64,
            DataType::Uint8 => b[0] as f64,
            DataType::Int32 => i32::from_le_bytes(b[..4].try_into().unwrap()) as f64,
            DataType::Uint32 => u32::from_le_bytes(b[..4].try_into().unwrap()) as f64,
            DataType::Int64 => i64::from_le_bytes(b[..8].try_into().unwrap()) as f64,
            DataType::Uint64 => u64::from_le_bytes(b[..8].try_into().unwrap()) as f64,
            DataType::Half => f16::from_le_bytes([b[0], b[1]]).to_f64(),
            DataType::Bfloat16 => bf16::from_le_bytes([b[0], b[1]]).to_f64(),
            DataType::Float => f32::from_le_bytes(b[..4].try_into().unwrap()) as f64,
            DataType::Double => f64::from_le_bytes(b[..8].try_into().unwrap()),
            DataType::F8e4m3 => F8E4M3::from_bits(b[0]).to_f64(),
            DataType::F8e5m2 => F8E5M2::from_bits(b[0]).to_f64(),
        }
    }

    /// `v` as the type stores it (wrapped or rounded), read back as f64.
    pub fn round_trip(self, v: f64) -> f64 {
        let mut b = [0u8; 8];
        self.encode(v, &mut b);
        self.decode(&b)
    }
}

/// Two's-complement wrap of an integral f64 to `bits`, returned sign-extended.
fn wrap_i128(v: f64, bits: u32) -> i128 {
    let m = 1i128 << bits;
    let w = (v as i128).rem_euclid(m);
    if w >= m / 2 {
        w - m
    } else {
        w
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReduceOp {
    Sum,
    Prod,
    Max,
    Min,
    Avg,
}

impl ReduceOp {
    pub const ALL: [ReduceOp; 5] = [
        ReduceOp::Sum,
        ReduceOp::Prod,
        ReduceOp::Max,
        ReduceOp::Min,
        ReduceOp::Avg,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Prod => "prod",
            ReduceOp::Max => "max",
            ReduceOp::Min => "min",
            ReduceOp::Avg => "avg",
        }
    }

    /// Combines the values every rank contributed, exactly (small integers in f64), then
    /// as the element type holds it: integer sums wrap, integer averages truncate as
    /// NCCL's do, float averages round once.
    pub fn reduce(self, dtype: DataType, values: impl Iterator<Item = f64>) -> f64 {
        let vals: Vec<f64> = values.collect();
        let n = vals.len() as f64;
        let r = match self {
            ReduceOp::Sum | ReduceOp::Avg => vals.iter().sum(),
            ReduceOp::Prod => vals.iter().product(),
            ReduceOp::Max => vals.iter().cloned().fold(f64::MIN, f64::max),
            ReduceOp::Min => vals.iter().cloned().fold(f64::MAX, f64::min),
        };
        let stored = dtype.round_trip(r);
        if self == ReduceOp::Avg {
            if dtype.is_float() {
                dtype.round_trip(stored / n)
            } else {
                (stored / n).trunc()
            }
        } else {
            stored
        }
    }
}

display_as_name!(DataType, ReduceOp);

impl FromStr for DataType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let l = s.to_ascii_lowercase();
        DataType::ALL
            .iter()
            .copied()
            .find(|t| t.name() == l || t.aliases().contains(&l.as_str()))
            .ok_or_else(|| {
                let names: Vec<_> = DataType::ALL.iter().map(|t| t.name()).collect();
                format!("unknown data type '{s}' (known: {}, all)", names.join(", "))
            })
    }
}

impl FromStr for ReduceOp {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let l = s.to_ascii_lowercase();
        ReduceOp::ALL
            .iter()
            .copied()
            .find(|o| o.name() == l)
            .ok_or_else(|| {
                format!("unknown reduction op '{s}' (known: sum, prod, max, min, avg, all)")
            })
    }
}

/// Parses a byte count with an optional K/M/G/T suffix (powers of 1024, as nccl-tests).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.chars().last() {
        Some(c) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'B' if t.len() > 1 => 1,
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => {
                    return Err(format!(
                        "malformed size '{s}': unknown suffix '{c}' (use K, M, G, T)"
                    ))
                }
            };
            (&t[..t.len() - 1], m)
        }
        _ => (t, 1),
    };
    let n: u64 = num.parse().map_err(|_| {
        format!("malformed size '{s}': expected a number with optional K/M/G/T suffix")
    })?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("malformed size '{s}': too large"))
}

/// Formats a byte count the way the table header does (e.g. 128M).
pub fn format_size(b: u64) -> String {
    for (m, s) in [
        (1u64 << 40, "T"),
        (1 << 30, "G"),
        (1 << 20, "M"),
        (1 << 10, "K"),
    ] {
        if b >= m && b.is_multiple_of(m) {
            return format!("{}{}", b / m, s);
        }
    }
    b.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_suffixes() {
        assert_eq!(parse_size("8").unwrap(), 8);
        assert_eq!(parse_size("64M").unwrap(), 64 << 20);
        assert_eq!(parse_size("1g").unwrap(), 1 << 30);
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("abc").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn names_and_aliases() {
        assert_eq!("bf16".parse::<DataType>().unwrap(), DataType::Bfloat16);
        assert_eq!("float".parse::<DataType>().unwrap(), DataType::Float);
        assert_eq!("fp16".parse::<DataType>().unwrap(), DataType::Half);
        assert!("float128".parse::<DataType>().is_err());
        assert_eq!("max".parse::<ReduceOp>().unwrap(), ReduceOp::Max);
    }

    #[test]
    fn encode_decode_wraps_and_rounds() {
        assert_eq!(DataType::Int8.round_trip(130.0), -126.0);
        assert_eq!(DataType::Uint8.round_trip(257.0), 1.0);
        assert_eq!(DataType::Bfloat16.round_trip(257.0), 256.0);
        assert_eq!(DataType::Half.round_trip(3.0), 3.0);
        // fp8: small integers exact, beyond the mantissa they round.
        assert_eq!(DataType::F8e4m3.round_trip(13.0), 13.0);
        assert_eq!(DataType::F8e4m3.round_trip(17.0), 16.0);
        assert_eq!(DataType::F8e5m2.round_trip(6.0), 6.0);
        assert_eq!(DataType::F8e5m2.round_trip(9.0), 8.0);
        assert_eq!(DataType::F8e4m3.size(), 1);
    }

    #[test]
    fn avg_truncates_integers_rounds_floats() {
        let v = [1.0, 2.0];
        assert_eq!(
            ReduceOp::Avg.reduce(DataType::Int32, v.iter().cloned()),
            1.0
        );
        assert_eq!(
            ReduceOp::Avg.reduce(DataType::Float, v.iter().cloned()),
            1.5
        );
    }
}
