//! What the invitation API accepts in `invitedUserEmailAddress`, per the invitation
//! resource's documentation: one `@`, no white space, ASCII only, none of the forbidden
//! characters in the local part, no `.` or `-` at its ends, and a dotted domain.

const FORBIDDEN: &[char] = &[
    '~', '!', '#', '$', '%', '^', '&', '*', '(', ')', '+', '=', '[', ']', '{', '}', '\\', '/', '|',
    ';', ':', '"', '<', '>', '?', ',',
];

/// Why the invitation API would refuse `mail`, or `None` when it would take it.
/// A blank address is not judged here: that is `mail-missing`.
pub fn mail_problem(mail: &str) -> Option<String> {
    if mail.trim().is_empty() {
        return None;
    }
    if mail.chars().any(char::is_whitespace) {
        return Some("contains white space".into());
    }
    if mail.chars().any(char::is_control) {
        return Some("contains a control character".into());
    }
    if let Some(c) = mail.chars().find(|c| !c.is_ascii()) {
        return Some(format!("contains the non-ASCII character {c:?}"));
    }
    let ats = mail.matches('@').count();
    if ats != 1 {
        return Some(format!("has {ats} '@' characters instead of one"));
    }
    let (local, domain) = mail.split_once('@')?;
    if local.is_empty() {
        return Some("has nothing before the '@'".into());
    }
    if domain.is_empty() {
        return Some("has nothing after the '@'".into());
    }
    if let Some(c) = local.chars().find(|c| FORBIDDEN.contains(c)) {
        return Some(format!(
            "holds the forbidden character '{c}' before the '@'"
        ));
    }
    if local.starts_with(['.', '-']) || local.ends_with(['.', '-']) {
        return Some("starts or ends its user name with '.' or '-'".into());
    }
    if !domain.contains('.') {
        return Some(format!("has a domain without a dot ({domain})"));
    }
    None
}

/// The lower-case domain of an address with exactly one `@`.
pub fn domain_of(mail: &str) -> Option<String> {
    let (local, domain) = mail.trim().split_once('@')?;
    if domain.contains('@') || local.is_empty() || domain.is_empty() {
        return None;
    }
    Some(domain.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_problem_follows_the_invitation_resource() {
        for ok in [
            "ana@adatum.com",
            "_ana_@adatum.com",
            "a.b-c@sub.adatum.com",
            "A.B@ADATUM.COM",
        ] {
            assert_eq!(mail_problem(ok), None, "{ok}");
        }
        for bad in [
            "ana smith@adatum.com",
            "ana@adatum.com\t",
            "anä@adatum.com",
            "ana@@adatum.com",
            "ana.adatum.com",
            "@adatum.com",
            "ana@",
            "ana#1@adatum.com",
            "a|b@adatum.com",
            ".ana@adatum.com",
            "ana-@adatum.com",
            "ana@localhost",
        ] {
            assert!(mail_problem(bad).is_some(), "{bad}");
        }
        assert_eq!(mail_problem("   "), None);
    }

    #[test]
    fn every_forbidden_character_is_refused() {
        for c in FORBIDDEN {
            let mail = format!("a{c}b@adatum.com");
            assert!(mail_problem(&mail).is_some(), "{mail}");
        }
    }

    #[test]
    fn domain_is_lower_case_and_needs_one_at() {
        assert_eq!(domain_of("Ana@Adatum.COM").as_deref(), Some("adatum.com"));
        assert_eq!(domain_of("a@b@c"), None);
        assert_eq!(domain_of("nobody"), None);
    }
}
