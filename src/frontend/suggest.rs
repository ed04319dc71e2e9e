//! "did you mean `x`?" suggestions.

/// The closest candidate to `name`, when one is close enough.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    #[test]
    fn suggests_close_names() {
        assert_eq!(super::did_you_mean("drivr", ["driver", "user"]), Some("driver"));
        assert_eq!(super::did_you_mean("zzz", ["driver", "user"]), None);
    }
}
