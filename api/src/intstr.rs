//! `IntOrString` values that are either a count or a percentage of a total (`maxSurge: 25%`,
//! `minAvailable: 2`), resolved the way Kubernetes' `GetScaledValueFromIntOrPercent` does.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// Why an `IntOrString` is not a count or a percentage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value for IntOrString: invalid type: string is not a percentage: {0:?}")]
pub struct NotAPercentage(pub String);

/// The count an `IntOrString` stands for out of `total`: a number as it is, a percentage of `total` rounded up
/// or down as asked (`maxSurge` rounds up, `maxUnavailable` down, PDB `minAvailable` up).
pub fn scaled_value(value: &IntOrString, total: i32, round_up: bool) -> Result<i32, NotAPercentage> {
    match value {
        IntOrString::Int(n) => Ok(*n),
        IntOrString::String(s) => {
            let percent: i64 =
                s.strip_suffix('%').and_then(|p| p.parse().ok()).ok_or_else(|| NotAPercentage(s.clone()))?;
            let scaled = percent * i64::from(total);
            let value = if round_up { (scaled + 99).div_euclid(100) } else { scaled.div_euclid(100) };
            Ok(value.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_percentages() {
        let s = |v: &str| IntOrString::String(v.to_owned());
        let cases = [
            (IntOrString::Int(3), 10, true, Ok(3)),
            (s("25%"), 10, true, Ok(3)),
            (s("25%"), 10, false, Ok(2)),
            (s("100%"), 7, false, Ok(7)),
            (s("0%"), 7, true, Ok(0)),
            (s("50%"), 1, true, Ok(1)),
            (s("50%"), 1, false, Ok(0)),
            (s("x"), 1, false, Err(NotAPercentage("x".into()))),
            (s("10"), 1, false, Err(NotAPercentage("10".into()))),
        ];
        for (value, total, up, expected) in cases {
            assert_eq!(scaled_value(&value, total, up), expected, "{value:?} of {total}, up={up}");
        }
    }
}
