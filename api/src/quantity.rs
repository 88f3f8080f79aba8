//! Kubernetes resource quantities (`500m`, `1Gi`, `2e3`): exact parsing, comparison, arithmetic and printing.
//!
//! The scheduler sums requests against node capacity and the node agent turns limits into runtime settings,
//! so the arithmetic must be exact: `100m + 900m` is exactly `1`, `0.5` equals `500m`, and `1Gi` is exactly
//! 1073741824. A [`ParsedQuantity`] is therefore an integer count of nano-units in an `i128`: the nano-unit is
//! the finest precision Kubernetes keeps, and finer inputs are rounded away from zero to the next nano-unit,
//! as Kubernetes does (`0.1n` is `1n`).
//!
//! The grammar is Kubernetes' `<sign><digits>[.<digits>]<suffix>`, where the suffix is binary SI
//! (`Ki` … `Ei`), decimal SI (`n u m k M G T P E`, or none) or a decimal exponent (`e3`, `E-2`).
//!
//! Differences from Kubernetes, all at the edges: the representable range is ±(2^127 − 1) nano-units
//! (about ±1.7e29 units) and anything larger is rejected instead of being capped or kept as a big decimal;
//! a number needs at least one digit (Kubernetes reads `Mi`, `.` and `-` as zero); and exponents must fit an
//! `i32`.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// Nano-units in one unit.
const NANOS_PER_UNIT: i128 = 1_000_000_000;
/// Nano-units in one milli-unit.
const NANOS_PER_MILLI: i128 = 1_000_000;
/// Decimal digits of `i128::MAX`; a longer integer cannot fit.
const I128_DIGITS: u64 = 39;
/// Characters that may start a suffix; anything else after the number is a format error.
const SUFFIX_CHARS: &str = "eEinumkKMGTP";

/// Why a string is not a quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The string does not have the shape `<sign><number><suffix>`.
    #[error("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")]
    InvalidFormat,
    /// The suffix has the right characters but is not one Kubernetes knows (`K`, `e`, `Mi3`).
    #[error("unable to parse quantity's suffix")]
    InvalidSuffix,
    /// The decimal exponent does not fit an `i32`.
    #[error("quantity exponent is out of range")]
    ExponentOutOfRange,
    /// The value does not fit the representation (or, for the `i64` accessors, an `i64`).
    #[error("quantity is too large")]
    TooLarge,
}

/// The suffix family of a quantity, kept so that printing stays in the family the author used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum QuantityFormat {
    /// Decimal SI suffixes (`m`, `k`, `M`, …) or none: `1500m`, `2`, `3G`.
    #[default]
    DecimalSi,
    /// Binary SI suffixes: `512Ki`, `1536Mi`.
    BinarySi,
    /// A decimal exponent: `2e3`, `5e-3`.
    DecimalExponent,
}

/// An exactly represented quantity: an integer count of nano-units plus the suffix family for printing.
///
/// Equality, ordering and hashing look only at the value, so `0.5 == 500m` and `1Ki == 1024`.
/// [`Display`](fmt::Display) prints the canonical Kubernetes form (`1.5` prints `1500m`, `1.5Gi` prints `1536Mi`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ParsedQuantity {
    nanos: i128,
    format: QuantityFormat,
}

impl ParsedQuantity {
    /// The zero quantity.
    pub const ZERO: Self = Self { nanos: 0, format: QuantityFormat::DecimalSi };

    /// A quantity of `nanos` nano-units, printed in `format`.
    pub const fn from_nanos(nanos: i128, format: QuantityFormat) -> Self {
        Self { nanos, format }
    }

    /// A quantity of `millis` milli-units (CPU), printed with decimal SI suffixes.
    pub fn from_millis(millis: i64) -> Self {
        Self { nanos: i128::from(millis) * NANOS_PER_MILLI, format: QuantityFormat::DecimalSi }
    }

    /// A quantity of `units` whole units (bytes, counts), printed in `format`.
    pub fn from_units(units: i64, format: QuantityFormat) -> Self {
        Self { nanos: i128::from(units) * NANOS_PER_UNIT, format }
    }

    /// The exact value in nano-units.
    pub const fn nanos(&self) -> i128 {
        self.nanos
    }

    /// The suffix family used for printing.
    pub const fn format(&self) -> QuantityFormat {
        self.format
    }

    /// Whether the value is zero.
    pub const fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// Whether the value is below zero.
    pub const fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    /// The value in milli-units, rounded away from zero as Kubernetes' `MilliValue()` does (`1n` is `1`).
    pub fn milli_value(&self) -> Result<i64, QuantityError> {
        i64::try_from(div_away_from_zero(self.nanos, NANOS_PER_MILLI)).map_err(|_| QuantityError::TooLarge)
    }

    /// The value in whole units, rounded away from zero as Kubernetes' `Value()` does (`100m` is `1`).
    pub fn value(&self) -> Result<i64, QuantityError> {
        i64::try_from(div_away_from_zero(self.nanos, NANOS_PER_UNIT)).map_err(|_| QuantityError::TooLarge)
    }

    /// `self + other`, or `None` on overflow. The result keeps `self`'s format unless `self` is zero,
    /// as in Kubernetes.
    #[must_use]
    pub fn checked_add(self, other: Self) -> Option<Self> {
        let nanos = self.nanos.checked_add(other.nanos)?;
        Some(Self { nanos, format: self.result_format(other) })
    }

    /// `self - other`, or `None` on overflow. The result keeps `self`'s format unless `self` is zero,
    /// as in Kubernetes.
    #[must_use]
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        let nanos = self.nanos.checked_sub(other.nanos)?;
        Some(Self { nanos, format: self.result_format(other) })
    }

    /// The Kubernetes object form, in canonical notation.
    pub fn to_k8s(&self) -> Quantity {
        Quantity(self.to_string())
    }

    fn result_format(self, other: Self) -> QuantityFormat {
        if self.is_zero() { other.format } else { self.format }
    }
}

impl PartialEq for ParsedQuantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}

impl Eq for ParsedQuantity {}

impl Hash for ParsedQuantity {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.nanos.hash(state);
    }
}

impl PartialOrd for ParsedQuantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ParsedQuantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

impl FromStr for ParsedQuantity {
    type Err = QuantityError;

    /// Parses the exact Kubernetes grammar; surrounding whitespace is an error (objects go through `TryFrom`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

impl TryFrom<&Quantity> for ParsedQuantity {
    type Error = QuantityError;

    /// Parses a quantity from an object. Surrounding whitespace is ignored, as Kubernetes' JSON decoding does.
    fn try_from(q: &Quantity) -> Result<Self, Self::Error> {
        parse(q.0.trim())
    }
}

impl From<ParsedQuantity> for Quantity {
    fn from(q: ParsedQuantity) -> Self {
        q.to_k8s()
    }
}

impl fmt::Display for ParsedQuantity {
    /// The canonical Kubernetes form: no fractional digits, the largest suffix that loses nothing, and the
    /// input's suffix family where it can express the value exactly (binary SI falls back to decimal SI below
    /// 1024 or for fractions, as in Kubernetes).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return f.write_str("0");
        }
        let sign = if self.nanos < 0 { "-" } else { "" };
        let magnitude = self.nanos.unsigned_abs();
        let nanos_per_unit = NANOS_PER_UNIT.unsigned_abs();

        if self.format == QuantityFormat::BinarySi
            && magnitude >= 1024 * nanos_per_unit
            && magnitude.is_multiple_of(nanos_per_unit)
        {
            let mut units = magnitude / nanos_per_unit;
            let mut suffixes = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"].into_iter();
            let mut suffix = "";
            while units.is_multiple_of(1024) {
                let Some(next) = suffixes.next() else { break };
                units /= 1024;
                suffix = next;
            }
            return write!(f, "{sign}{units}{suffix}");
        }

        // Move factors of ten into the exponent, then lower it to a multiple of three (as Kubernetes does) so
        // that it maps onto an SI suffix. Both steps keep the mantissa at most the original magnitude.
        let mut mantissa = magnitude;
        let mut exponent: i32 = -9;
        while mantissa.is_multiple_of(10) {
            mantissa /= 10;
            exponent += 1;
        }
        let excess = exponent.rem_euclid(3);
        mantissa *= 10u128.pow(excess.unsigned_abs());
        exponent -= excess;

        if self.format == QuantityFormat::DecimalExponent {
            return if exponent == 0 {
                write!(f, "{sign}{mantissa}")
            } else {
                write!(f, "{sign}{mantissa}e{exponent}")
            };
        }
        // Beyond exa there is no SI suffix: keep the rest of the exponent in the mantissa.
        if exponent > 18 {
            mantissa *= 10u128.pow((exponent - 18).unsigned_abs());
            exponent = 18;
        }
        let suffix = match exponent {
            -9 => "n",
            -6 => "u",
            -3 => "m",
            3 => "k",
            6 => "M",
            9 => "G",
            12 => "T",
            15 => "P",
            18 => "E",
            _ => "",
        };
        write!(f, "{sign}{mantissa}{suffix}")
    }
}

/// The CPU amount of `q` in millicores, rounded away from zero (`1n` is 1m).
pub fn cpu_millis(q: &Quantity) -> Result<i64, QuantityError> {
    ParsedQuantity::try_from(q)?.milli_value()
}

/// The memory (or storage) amount of `q` in bytes, rounded away from zero (`100m` is 1 byte).
pub fn memory_bytes(q: &Quantity) -> Result<i64, QuantityError> {
    ParsedQuantity::try_from(q)?.value()
}

/// A CPU quantity of `millis` millicores in canonical form: `1500` gives `1500m`, `2000` gives `2`.
pub fn from_millis(millis: i64) -> Quantity {
    ParsedQuantity::from_millis(millis).to_k8s()
}

/// A memory quantity of `bytes` in canonical binary form: `1073741824` gives `1Gi`, `1536` gives `1536`
/// (`1.5Ki` is not canonical), and values below 1024 use decimal SI as in Kubernetes (`1000` gives `1k`).
pub fn from_bytes(bytes: i64) -> Quantity {
    ParsedQuantity::from_units(bytes, QuantityFormat::BinarySi).to_k8s()
}

/// `n / d` for `d > 0`, rounding any remainder away from zero.
fn div_away_from_zero(n: i128, d: i128) -> i128 {
    let quotient = n / d;
    if n % d == 0 { quotient } else { quotient + n.signum() }
}

/// What a suffix means.
enum Suffix {
    /// Multiply by ten to this power.
    Decimal(i32, QuantityFormat),
    /// Multiply by two to this power.
    Binary(u32),
}

/// Parses the Kubernetes quantity grammar into nano-units.
fn parse(s: &str) -> Result<ParsedQuantity, QuantityError> {
    let (negative, rest) = match s.strip_prefix('-') {
        Some(unsigned) => (true, unsigned),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int_digits, rest) = split_while(rest, |c| c.is_ascii_digit());
    let (frac_digits, rest) = match rest.strip_prefix('.') {
        Some(after_point) => split_while(after_point, |c| c.is_ascii_digit()),
        None => ("", rest),
    };
    if int_digits.is_empty() && frac_digits.is_empty() {
        return Err(QuantityError::InvalidFormat);
    }
    // The suffix is `[eEinumkKMGTP]*[-+]?[0-9]*` and must end the string.
    let (_, after_letters) = split_while(rest, |c| SUFFIX_CHARS.contains(c));
    let after_sign = after_letters.strip_prefix(['-', '+']).unwrap_or(after_letters);
    let (_, trailing) = split_while(after_sign, |c| c.is_ascii_digit());
    if !trailing.is_empty() {
        return Err(QuantityError::InvalidFormat);
    }
    let suffix = interpret_suffix(rest)?;

    // The value is `digits × 10^exp10`, then scaled by the suffix.
    let mut digits: Vec<u8> = int_digits.bytes().chain(frac_digits.bytes()).map(|b| b - b'0').collect();
    let mut exp10 = -i64::try_from(frac_digits.len()).map_err(|_| QuantityError::TooLarge)?;
    let format = match suffix {
        Suffix::Decimal(exponent, format) => {
            exp10 = exp10.saturating_add(i64::from(exponent));
            format
        }
        Suffix::Binary(exponent) => {
            // Multiply in steps small enough that a digit times the factor plus carry fits a u64.
            let mut remaining = exponent;
            while remaining > 0 {
                let step = remaining.min(30);
                multiply_digits(&mut digits, 1u64 << step);
                remaining -= step;
            }
            QuantityFormat::BinarySi
        }
    };

    let Some(first_nonzero) = digits.iter().position(|&d| d != 0) else {
        return Ok(ParsedQuantity { nanos: 0, format });
    };
    let last_nonzero = digits.iter().rposition(|&d| d != 0).unwrap_or(first_nonzero);
    let trailing_zeros = digits.len() - 1 - last_nonzero;
    exp10 = exp10.saturating_add(i64::try_from(trailing_zeros).map_err(|_| QuantityError::TooLarge)?);
    let significant = digits.get(first_nonzero..=last_nonzero).unwrap_or_default();

    let magnitude = to_nanos(significant, exp10.saturating_add(9))?;
    Ok(ParsedQuantity { nanos: if negative { -magnitude } else { magnitude }, format })
}

/// Maps a suffix to its meaning, as Kubernetes' suffixer does.
fn interpret_suffix(suffix: &str) -> Result<Suffix, QuantityError> {
    use QuantityFormat::{DecimalExponent, DecimalSi};
    Ok(match suffix {
        "n" => Suffix::Decimal(-9, DecimalSi),
        "u" => Suffix::Decimal(-6, DecimalSi),
        "m" => Suffix::Decimal(-3, DecimalSi),
        "" => Suffix::Decimal(0, DecimalSi),
        "k" => Suffix::Decimal(3, DecimalSi),
        "M" => Suffix::Decimal(6, DecimalSi),
        "G" => Suffix::Decimal(9, DecimalSi),
        "T" => Suffix::Decimal(12, DecimalSi),
        "P" => Suffix::Decimal(15, DecimalSi),
        "E" => Suffix::Decimal(18, DecimalSi),
        "Ki" => Suffix::Binary(10),
        "Mi" => Suffix::Binary(20),
        "Gi" => Suffix::Binary(30),
        "Ti" => Suffix::Binary(40),
        "Pi" => Suffix::Binary(50),
        "Ei" => Suffix::Binary(60),
        _ => {
            let exponent = suffix.strip_prefix(['e', 'E']).ok_or(QuantityError::InvalidSuffix)?;
            let digits = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(QuantityError::InvalidSuffix);
            }
            // The shape is right, so a parse failure can only be the size.
            let value = exponent.parse().map_err(|_| QuantityError::ExponentOutOfRange)?;
            Suffix::Decimal(value, DecimalExponent)
        }
    })
}

/// Converts `digits × 10^shift` (no leading or trailing zeros, not empty) to an integer, rounding any
/// fraction up to the next integer.
fn to_nanos(digits: &[u8], shift: i64) -> Result<i128, QuantityError> {
    let (integer, fraction_nonzero, zeros) = if shift >= 0 {
        (digits, false, shift.unsigned_abs())
    } else {
        // At least one digit is dropped, and `digits` has no trailing zeros, so the dropped part is non-zero.
        let dropped = usize::try_from(shift.unsigned_abs()).unwrap_or(usize::MAX);
        let kept = digits.len().saturating_sub(dropped);
        (digits.get(..kept).unwrap_or_default(), true, 0)
    };
    let length = u64::try_from(integer.len()).unwrap_or(u64::MAX).saturating_add(zeros);
    if length > I128_DIGITS {
        return Err(QuantityError::TooLarge);
    }
    let mut value: i128 = 0;
    for &digit in integer {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(digit)))
            .ok_or(QuantityError::TooLarge)?;
    }
    for _ in 0..zeros {
        value = value.checked_mul(10).ok_or(QuantityError::TooLarge)?;
    }
    if fraction_nonzero {
        value = value.checked_add(1).ok_or(QuantityError::TooLarge)?;
    }
    Ok(value)
}

/// Multiplies a big-endian decimal digit string by `factor` (at most 2^30) in place.
fn multiply_digits(digits: &mut Vec<u8>, factor: u64) {
    let mut carry: u64 = 0;
    for digit in digits.iter_mut().rev() {
        let product = u64::from(*digit) * factor + carry;
        *digit = (product % 10) as u8;
        carry = product / 10;
    }
    let mut prefix = Vec::new();
    while carry > 0 {
        prefix.push((carry % 10) as u8);
        carry /= 10;
    }
    prefix.reverse();
    digits.splice(0..0, prefix);
}

/// Splits `s` before the first character that fails `keep`.
fn split_while(s: &str, keep: impl Fn(char) -> bool) -> (&str, &str) {
    s.split_at(s.find(|c| !keep(c)).unwrap_or(s.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> ParsedQuantity {
        s.parse().unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }

    const NANO: i128 = 1;
    const MICRO: i128 = 1_000;
    const MILLI: i128 = 1_000_000;
    const UNIT: i128 = 1_000_000_000;

    #[test]
    fn parses_every_suffix_exactly() {
        let cases: &[(&str, i128)] = &[
            ("0", 0),
            ("1", UNIT),
            ("1n", NANO),
            ("1u", MICRO),
            ("1m", MILLI),
            ("1k", 1_000 * UNIT),
            ("1M", 1_000_000 * UNIT),
            ("1G", 1_000_000_000 * UNIT),
            ("1T", 1_000_000_000_000 * UNIT),
            ("1P", 1_000_000_000_000_000 * UNIT),
            ("1E", 1_000_000_000_000_000_000 * UNIT),
            ("1Ki", 1024 * UNIT),
            ("1Mi", (1 << 20) * UNIT),
            ("1Gi", 1_073_741_824 * UNIT),
            ("1Ti", (1 << 40) * UNIT),
            ("1Pi", (1 << 50) * UNIT),
            ("1Ei", (1 << 60) * UNIT),
            ("1e3", 1_000 * UNIT),
            ("1E3", 1_000 * UNIT),
            ("1e+3", 1_000 * UNIT),
            ("1e0", UNIT),
            ("5e-3", 5 * MILLI),
            ("1E-2", 10 * MILLI),
            ("1e-9", NANO),
        ];
        for &(input, nanos) in cases {
            assert_eq!(q(input).nanos(), nanos, "{input}");
        }
    }

    #[test]
    fn parses_signs_and_decimals() {
        let cases: &[(&str, i128)] = &[
            ("+1", UNIT),
            ("-1", -UNIT),
            ("-0", 0),
            ("+0.0", 0),
            ("0.5", 500 * MILLI),
            (".5", 500 * MILLI),
            ("5.", 5 * UNIT),
            ("1.G", UNIT * 1_000_000_000),
            ("000001", UNIT),
            ("1.500", 1_500 * MILLI),
            ("-100m", -100 * MILLI),
            ("1.5Gi", 1_610_612_736 * UNIT),
            ("0.5Ki", 512 * UNIT),
            ("-1.5Ki", -1536 * UNIT),
            ("0.1Ki", 102_400 * MILLI),
            ("1.5e3", 1_500 * UNIT),
            ("0.001e3", UNIT),
            ("123.456789123", 123_456_789_123),
            ("0e99", 0),
            ("0Ei", 0),
        ];
        for &(input, nanos) in cases {
            assert_eq!(q(input).nanos(), nanos, "{input}");
        }
    }

    #[test]
    fn rounds_below_a_nano_unit_away_from_zero() {
        let cases: &[(&str, i128)] = &[
            ("0.0000000001", 1),
            ("-0.0000000001", -1),
            ("1e-20", 1),
            ("1e-2147483648", 1),
            ("0.1n", 1),
            ("1.5n", 2),
            ("-1.5n", -2),
            ("1.0000000001", UNIT + 1),
            ("0.000000000000000000000000000000000000000000000000001", 1),
            ("0.00000000000000000000000000000000000000000000000000001Ki", 1),
        ];
        for &(input, nanos) in cases {
            assert_eq!(q(input).nanos(), nanos, "{input}");
        }
    }

    #[test]
    fn rejects_malformed_strings() {
        let cases: &[(&str, QuantityError)] = &[
            ("", QuantityError::InvalidFormat),
            (" ", QuantityError::InvalidFormat),
            (" 1", QuantityError::InvalidFormat),
            ("1 ", QuantityError::InvalidFormat),
            ("1.2.3", QuantityError::InvalidFormat),
            ("1Qi", QuantityError::InvalidFormat),
            ("Mi", QuantityError::InvalidFormat),
            ("--1", QuantityError::InvalidFormat),
            ("+-1", QuantityError::InvalidFormat),
            ("-", QuantityError::InvalidFormat),
            ("+", QuantityError::InvalidFormat),
            (".", QuantityError::InvalidFormat),
            ("abc", QuantityError::InvalidFormat),
            ("1,5", QuantityError::InvalidFormat),
            ("1e3.5", QuantityError::InvalidFormat),
            ("1m3x", QuantityError::InvalidFormat),
            ("1Mi ", QuantityError::InvalidFormat),
            ("١", QuantityError::InvalidFormat),
            ("1K", QuantityError::InvalidSuffix),
            ("1ki", QuantityError::InvalidSuffix),
            ("1e", QuantityError::InvalidSuffix),
            ("1E+", QuantityError::InvalidSuffix),
            ("1ee3", QuantityError::InvalidSuffix),
            ("1m3", QuantityError::InvalidSuffix),
            ("1Mi1", QuantityError::InvalidSuffix),
            ("1i", QuantityError::InvalidSuffix),
            ("1KiB", QuantityError::InvalidFormat),
            ("1mM", QuantityError::InvalidSuffix),
            ("1e99999999999", QuantityError::ExponentOutOfRange),
            ("1e-99999999999", QuantityError::ExponentOutOfRange),
        ];
        for (input, error) in cases {
            assert_eq!(input.parse::<ParsedQuantity>().as_ref(), Err(error), "{input:?}");
        }
    }

    #[test]
    fn huge_values_error_instead_of_panicking() {
        let too_large = [
            "1e30",
            "-1e30",
            "2e29",
            "1e2147483647",
            "1000000000000Ei",
            "99999999999999999999999999999999999999999",
            "170141183460469231731687303716",
            "170141183460469231731687303715.884105728",
            "9999999999999999999999999999999999999999999999999999999999999999999999999999999999999999",
        ];
        for input in too_large {
            assert_eq!(input.parse::<ParsedQuantity>(), Err(QuantityError::TooLarge), "{input}");
        }
        let long_zeros = format!("1{}", "0".repeat(100_000));
        assert_eq!(long_zeros.parse::<ParsedQuantity>(), Err(QuantityError::TooLarge));
        // The largest values that fit still parse.
        assert_eq!(q("1e29").nanos(), 10i128.pow(38));
        assert_eq!(q("170141183460469231731687303715.884105727").nanos(), i128::MAX);
        assert_eq!(q("-170141183460469231731687303715.884105727").nanos(), -i128::MAX);
    }

    #[test]
    fn prints_canonical_kubernetes_form() {
        let cases: &[(&str, &str)] = &[
            ("0", "0"),
            ("0Mi", "0"),
            ("-0.0", "0"),
            ("1", "1"),
            ("1000", "1k"),
            ("1000m", "1"),
            ("1500m", "1500m"),
            ("1.5", "1500m"),
            ("0.5", "500m"),
            ("100m", "100m"),
            ("0.1m", "100u"),
            ("1n", "1n"),
            ("1.5k", "1500"),
            ("12M", "12M"),
            ("1E", "1E"),
            ("1000E", "1000E"),
            ("1e21", "1e21"),
            ("-100m", "-100m"),
            ("+5", "5"),
            ("1Ki", "1Ki"),
            ("1024", "1024"),
            ("1024Mi", "1Gi"),
            ("1536Mi", "1536Mi"),
            ("1.5Gi", "1536Mi"),
            ("0.5Gi", "512Mi"),
            ("0.5Ki", "512"),
            ("1500Ki", "1500Ki"),
            ("0.1Ki", "102400m"),
            ("1024Ei", "1024Ei"),
            ("-1Ki", "-1Ki"),
            ("1.5Ki", "1536"),
            ("1e3", "1e3"),
            ("1E3", "1e3"),
            ("12e6", "12e6"),
            ("1.5e3", "1500"),
            ("1e-2", "10e-3"),
            ("1e-9", "1e-9"),
            ("1e0", "1"),
            ("100e-3", "100e-3"),
        ];
        for &(input, canonical) in cases {
            assert_eq!(q(input).to_string(), canonical, "{input}");
        }
    }

    #[test]
    fn printing_round_trips() {
        let inputs = [
            "0",
            "1",
            "1500m",
            "1.5",
            "1536Mi",
            "1.5Gi",
            "0.1Ki",
            "1e3",
            "1e-2",
            "-7.25Ti",
            "123456789n",
            "1024Ei",
            "1000E",
        ];
        for input in inputs {
            let parsed = q(input);
            let printed = parsed.to_string();
            let reparsed = q(&printed);
            assert_eq!(reparsed, parsed, "{input} -> {printed}");
            assert_eq!(reparsed.to_string(), printed, "{input} -> {printed}");
        }
        assert_eq!(
            q(&ParsedQuantity::from_nanos(i128::MAX, QuantityFormat::DecimalSi).to_string()).nanos(),
            i128::MAX
        );
        let min = ParsedQuantity::from_nanos(-i128::MAX, QuantityFormat::BinarySi);
        assert_eq!(min.to_string(), "-170141183460469231731687303715884105727n");
        assert_eq!(min.to_string().parse::<ParsedQuantity>(), Ok(min));
    }

    #[test]
    fn compares_by_value() {
        assert_eq!(q("0.5"), q("500m"));
        assert_eq!(q("1Ki"), q("1024"));
        assert_eq!(q("1Gi"), q("1073741824"));
        assert_eq!(q("1e3"), q("1k"));
        assert!(q("1Gi") > q("1G"));
        assert!(q("999m") < q("1"));
        assert!(q("-1") < q("0"));
        let mut sorted = [q("1Gi"), q("-1"), q("1n"), q("1G"), q("0")];
        sorted.sort();
        let printed: Vec<String> = sorted.iter().map(ToString::to_string).collect();
        assert_eq!(printed, ["-1", "0", "1n", "1G", "1Gi"]);
    }

    #[test]
    fn adds_and_subtracts_exactly() {
        let sum = q("100m").checked_add(q("900m"));
        assert_eq!(sum, Some(q("1")));
        assert_eq!(sum.map(|s| s.to_string()).as_deref(), Some("1"));
        assert_eq!(q("1Gi").checked_sub(q("512Mi")).map(|d| d.to_string()).as_deref(), Some("512Mi"));
        assert_eq!(q("250m").checked_sub(q("1")).map(|d| d.to_string()).as_deref(), Some("-750m"));
        // A zero left-hand side takes the other operand's format, as in Kubernetes.
        assert_eq!(ParsedQuantity::ZERO.checked_add(q("2Ki")).map(|s| s.to_string()).as_deref(), Some("2Ki"));
        assert_eq!(q("1k").checked_add(q("1Ki")).map(|s| s.to_string()).as_deref(), Some("2024"));
        let max = ParsedQuantity::from_nanos(i128::MAX, QuantityFormat::DecimalSi);
        let min = ParsedQuantity::from_nanos(i128::MIN, QuantityFormat::DecimalSi);
        assert_eq!(max.checked_add(q("1n")), None);
        assert_eq!(min.checked_sub(q("1n")), None);
        assert_eq!(max.checked_sub(max), Some(ParsedQuantity::ZERO));
    }

    #[test]
    fn milli_value_and_value_round_away_from_zero() {
        let cases: &[(&str, i64, i64)] = &[
            ("0", 0, 0),
            ("1", 1_000, 1),
            ("100m", 100, 1),
            ("1n", 1, 1),
            ("-1n", -1, -1),
            ("1.0001m", 2, 1),
            ("1.5", 1_500, 2),
            ("-1.5", -1_500, -2),
            ("-100m", -100, -1),
            ("1Ki", 1_024_000, 1_024),
            ("1Gi", 1_073_741_824_000, 1_073_741_824),
            ("9223372036854775807m", i64::MAX, 9_223_372_036_854_776),
        ];
        for &(input, millis, units) in cases {
            assert_eq!(q(input).milli_value(), Ok(millis), "{input}");
            assert_eq!(q(input).value(), Ok(units), "{input}");
        }
        assert_eq!(q("9223372036854775808m").milli_value(), Err(QuantityError::TooLarge));
        assert_eq!(q("9223372036854775807").value(), Ok(i64::MAX));
        assert_eq!(q("9223372036854775808").value(), Err(QuantityError::TooLarge));
        assert_eq!(q("-9223372036854775808").value(), Ok(i64::MIN));
        assert_eq!(q("8Ei").value(), Err(QuantityError::TooLarge));
        assert_eq!(q("1e29").value(), Err(QuantityError::TooLarge));
    }

    #[test]
    fn converts_kubernetes_quantities() {
        let k = |s: &str| Quantity(s.to_owned());
        assert_eq!(cpu_millis(&k("250m")), Ok(250));
        assert_eq!(cpu_millis(&k("2")), Ok(2_000));
        assert_eq!(cpu_millis(&k("0.1")), Ok(100));
        assert_eq!(cpu_millis(&k(" 1 ")), Ok(1_000));
        assert_eq!(cpu_millis(&k("1x")), Err(QuantityError::InvalidFormat));
        assert_eq!(memory_bytes(&k("128Mi")), Ok(134_217_728));
        assert_eq!(memory_bytes(&k("1G")), Ok(1_000_000_000));
        assert_eq!(memory_bytes(&k("1.5")), Ok(2));
        assert_eq!(memory_bytes(&k("")), Err(QuantityError::InvalidFormat));
        assert_eq!(memory_bytes(&k("1e30")), Err(QuantityError::TooLarge));
        assert_eq!(ParsedQuantity::try_from(&k("\t1Gi\n")), Ok(q("1Gi")));
        assert_eq!(Quantity::from(q("1.5Gi")), k("1536Mi"));
    }

    #[test]
    fn builds_kubernetes_quantities() {
        let cpu: &[(i64, &str)] = &[
            (0, "0"),
            (1, "1m"),
            (250, "250m"),
            (1_000, "1"),
            (1_500, "1500m"),
            (2_000, "2"),
            (-500, "-500m"),
        ];
        for &(millis, text) in cpu {
            assert_eq!(from_millis(millis).0, text, "{millis}");
        }
        let memory: &[(i64, &str)] = &[
            (0, "0"),
            (1, "1"),
            (1_000, "1k"),
            (1_024, "1Ki"),
            (1_500, "1500"),
            (1_536, "1536"),
            (1_073_741_824, "1Gi"),
            (1_610_612_736, "1536Mi"),
            (2_000_000_000, "1953125Ki"),
            (1_000_000, "1000000"),
            (i64::MIN, "-8Ei"),
        ];
        for &(bytes, text) in memory {
            assert_eq!(from_bytes(bytes).0, text, "{bytes}");
        }
        for value in [0, 1, 999, 1_000, 123_456_789, i64::MAX, i64::MIN] {
            assert_eq!(cpu_millis(&from_millis(value)), Ok(value), "{value}");
            assert_eq!(memory_bytes(&from_bytes(value)), Ok(value), "{value}");
        }
    }

    #[test]
    fn error_messages_are_precise() {
        assert_eq!(
            QuantityError::InvalidFormat.to_string(),
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        );
        assert_eq!(QuantityError::InvalidSuffix.to_string(), "unable to parse quantity's suffix");
        assert_eq!(QuantityError::TooLarge.to_string(), "quantity is too large");
    }
}
