//! Instants on the wire are RFC 3339 strings. The server works with chrono's `DateTime<Utc>`; the
//! widget only needs the instant itself — to group and format it with the browser's own clock,
//! zone and calendar (`Intl`) — so its WebAssembly carries no date library: chrono's parser,
//! formatter and serde support were ~30 KB of it.

#[cfg(feature = "ssr")]
pub type Timestamp = chrono::DateTime<chrono::Utc>;

#[cfg(not(feature = "ssr"))]
pub use client::Timestamp;

/// What the interface needs from an instant, in both builds.
pub trait Instant {
    /// Milliseconds since the Unix epoch.
    fn epoch_millis(&self) -> i64;
    /// The instant as RFC 3339 (a `<time datetime>` attribute).
    fn rfc3339(&self) -> String;
}

#[cfg(feature = "ssr")]
impl Instant for Timestamp {
    fn epoch_millis(&self) -> i64 {
        self.timestamp_millis()
    }

    fn rfc3339(&self) -> String {
        self.to_rfc3339()
    }
}

/// Instants in the API's JSON are RFC 3339 text.
#[cfg(feature = "ssr")]
impl super::json::FromJson for Timestamp {
    fn from_json(value: super::json::Json) -> Result<Self, super::json::JsonError> {
        let text = <String as super::json::FromJson>::from_json(value)?;
        chrono::DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|_| super::json::JsonError::new("invalid RFC 3339 timestamp"))
    }
}

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month, day) of a day number since 1970-01-01 (`civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

/// The day number (since 1970-01-01) of an instant in a zone `offset_minutes` east of UTC.
pub fn local_day(epoch_millis: i64, offset_minutes: i32) -> i64 {
    (epoch_millis + i64::from(offset_minutes) * 60_000).div_euclid(MS_PER_DAY)
}

/// Milliseconds since the epoch of an RFC 3339 timestamp (`2026-11-23T10:00:00.123+05:00`, `Z`,
/// any number of fraction digits). `None` for anything else, including impossible dates.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter().try_fold(0i64, |n, c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
    };
    let sep = |at: usize, ok: &[u8]| b.get(at).is_some_and(|c| ok.contains(c));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let month_days = [31, if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&mo) || d < 1 || d > month_days[(mo - 1) as usize] || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if sep(i, b".") {
        let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        millis = num(i + 1, digits.min(3))? * [100, 10, 1][digits.min(3) - 1];
        i += 1 + digits;
    }
    let offset_minutes = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), ..] if b.len() == i + 6 && sep(i + 3, b":") => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            (oh * 60 + om) * if *sign == b'-' { -1 } else { 1 }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    Some(((days * 24 + h) * 60 + mi - offset_minutes) * 60_000 + sec.min(59) * 1000 + millis)
}

/// Serialise an instant exactly as chrono's serde does (RFC 3339 in UTC with `Z`, the fraction in
/// the fewest of 0, 3, 6 or 9 digits that are exact), without `core::fmt`: a history page
/// carries up to sixty of them, and chrono's formatter was 5 % of the server's CPU on a
/// conversation list. Instants chrono writes differently (years outside 0–9999, leap seconds)
/// are left to it.
#[cfg(feature = "ssr")]
pub fn serialize_rfc3339<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; 30];
    match write_rfc3339(t, &mut buf).and_then(|n| std::str::from_utf8(&buf[..n]).ok()) {
        Some(text) => s.serialize_str(text),
        None => serde::Serialize::serialize(t, s),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z` into `buf`; its length, or `None` when the
/// instant needs chrono's wider forms.
#[cfg(feature = "ssr")]
fn write_rfc3339(t: &Timestamp, buf: &mut [u8; 30]) -> Option<usize> {
    let secs = t.timestamp();
    let nanos = t.timestamp_subsec_nanos();
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    if !(0..=9999).contains(&y) || nanos >= 1_000_000_000 {
        return None;
    }
    let sod = secs.rem_euclid(86_400) as u32;
    let mut put = |at: usize, value: u32, digits: usize| {
        let mut v = value;
        for i in (0..digits).rev() {
            buf[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, y as u32, 4);
    put(5, mo, 2);
    put(8, d, 2);
    put(11, sod / 3600, 2);
    put(14, sod / 60 % 60, 2);
    put(17, sod % 60, 2);
    let (fraction, digits) = match nanos {
        0 => (0, 0),
        n if n % 1_000_000 == 0 => (n / 1_000_000, 3),
        n if n % 1_000 == 0 => (n / 1_000, 6),
        n => (n, 9),
    };
    let mut end = 19;
    if digits > 0 {
        put(20, fraction, digits);
        end = 20 + digits;
    }
    for (at, c) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')] {
        buf[at] = c;
    }
    if digits > 0 {
        buf[19] = b'.';
    }
    buf[end] = b'Z';
    Some(end + 1)
}

#[cfg(all(test, feature = "ssr"))]
mod serialize_tests {
    use chrono::{DateTime, TimeZone, Utc};

    #[derive(serde::Serialize)]
    struct Fast(#[serde(serialize_with = "super::serialize_rfc3339")] DateTime<Utc>);

    #[test]
    fn instants_serialise_exactly_as_chrono_writes_them() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut instants = vec![
            Utc.timestamp_opt(0, 0).unwrap(),
            Utc.timestamp_opt(-1, 999_999_999).unwrap(),
            Utc.with_ymd_and_hms(2000, 2, 29, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
        ];
        for _ in 0..20_000 {
            // Seconds across years 0–2400 and beyond; fractions exact to ms, µs or ns, or none.
            let secs = (next() % 80_000_000_000) as i64 - 62_000_000_000;
            let nanos = match next() % 4 {
                0 => 0,
                1 => (next() % 1000) as u32 * 1_000_000,
                2 => (next() % 1_000_000) as u32 * 1000,
                _ => (next() % 1_000_000_000) as u32,
            };
            instants.push(Utc.timestamp_opt(secs, nanos).unwrap());
        }
        for t in instants {
            assert_eq!(serde_json::to_string(&Fast(t)).unwrap(), serde_json::to_string(&t).unwrap());
        }
    }
}

#[cfg(not(feature = "ssr"))]
mod client {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// An instant as the widget holds it: the server's RFC 3339 text and its epoch milliseconds.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Timestamp {
        text: String,
        millis: i64,
    }

    impl super::Instant for Timestamp {
        fn epoch_millis(&self) -> i64 {
            self.millis
        }

        fn rfc3339(&self) -> String {
            self.text.clone()
        }
    }

    impl Serialize for Timestamp {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&self.text)
        }
    }

    impl super::super::json::FromJson for Timestamp {
        fn from_json(value: super::super::json::Json) -> Result<Self, super::super::json::JsonError> {
            let text = <String as super::super::json::FromJson>::from_json(value)?;
            match super::parse_rfc3339(&text) {
                Some(millis) => Ok(Timestamp { text, millis }),
                None => Err(super::super::json::JsonError::new("invalid RFC 3339 timestamp")),
            }
        }
    }

    impl<'de> Deserialize<'de> for Timestamp {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let text = String::deserialize(d)?;
            match super::parse_rfc3339(&text) {
                Some(millis) => Ok(Timestamp { text, millis }),
                None => Err(serde::de::Error::custom("invalid RFC 3339 timestamp")),
            }
        }
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeZone, Utc};

    #[test]
    fn parses_what_chrono_writes_to_the_same_instant() {
        for t in [
            Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap() + chrono::Duration::microseconds(123_456),
            Utc.with_ymd_and_hms(2024, 2, 29, 0, 0, 1).unwrap(),
            Utc.with_ymd_and_hms(1969, 7, 20, 20, 17, 40).unwrap(),
        ] {
            assert_eq!(parse_rfc3339(&t.to_rfc3339()), Some(t.timestamp_millis()), "{t}");
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(parse_rfc3339(json.trim_matches('"')), Some(t.timestamp_millis()), "{json}");
        }
    }

    #[test]
    fn offsets_and_fractions() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis();
        for s in ["2026-11-23T15:30:00+05:30", "2026-11-23T01:00:00.5-08:00", "2026-01-01T00:00:00.987654321Z"] {
            assert_eq!(parse_rfc3339(s), Some(at(s)), "{s}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_timestamp() {
        for s in ["", "2026-11-23", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "2026-11-23T24:00:00Z", "2026-11-23T10:00:00", "2026-11-23T10:00:00+5:00", "2026-11-23T10:00:00.Z", "2026-11-23T10:00:00Zjunk", "२०२६-11-23T10:00:00Z"] {
            assert_eq!(parse_rfc3339(s), None, "{s:?}");
        }
    }

    #[test]
    fn days_round_trip_and_follow_the_zone() {
        for z in [-800_000, -1, 0, 1, 19_000, 20_415, 2_000_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), z);
        }
        assert_eq!(civil_from_days(20_415), (2025, 11, 23));
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 22, 30, 0).unwrap().timestamp_millis();
        assert_eq!(civil_from_days(local_day(t, 0)), (2026, 11, 23));
        assert_eq!(civil_from_days(local_day(t, 120)), (2026, 11, 24), "UTC+2 is past midnight");
        assert_eq!(civil_from_days(local_day(t, -600)), (2026, 11, 23));
    }
}
