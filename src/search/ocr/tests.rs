//! Each class of misread, and the cases where no code may be chosen.

use super::hex::MAX_NEAREST;
use super::*;

fn lexicon() -> Lexicon {
    Lexicon::new(["Bad_Stale", "EngineFailureTimeout"])
}

/// The text searched for and the code card it gets.
fn read(input: &str) -> (Reading, Option<String>) {
    let r = lexicon().read(input);
    let card = status::table().find_in(&r.text).map(|c| c.name());
    (r, card)
}

#[test]
fn ocr_hex_prefixes_read_as_0x() {
    for input in [
        "Ox80AC0000",
        "OX80AC0000",
        "ox80AC0000",
        "8x80AC0000",
        "@x80AC0000",
    ] {
        let (r, card) = read(input);
        assert_eq!(r.text, "0x80AC0000", "{input}");
        assert_eq!(card.as_deref(), Some("Bad_ConnectionRejected"), "{input}");
    }
    // Written right, there is nothing to say.
    for input in ["0x80AC0000", "0X80AC0000", "80AC0000"] {
        let (r, card) = read(input);
        assert!(r.codes.is_empty() && r.text == input, "{input}: {r:?}");
        assert_eq!(card.as_deref(), Some("Bad_ConnectionRejected"), "{input}");
    }
}

#[test]
fn letters_for_digits_read_as_digits() {
    for (input, name) in [
        ("0x80ACOOOO", "Bad_ConnectionRejected"),
        ("0x80AC@@QQ", "Bad_ConnectionRejected"),
        ("80ACoooo", "Bad_ConnectionRejected"),
        ("0x80lAOOOO", "Bad_CertificateUntrusted"),
        ("0x80|AOOOO", "Bad_CertificateUntrusted"),
        ("0x8OI3OOOO", "Bad_SecurityChecksFailed"),
        ("Ox8OS6OOOO", "Bad_TooManySessions"),
        ("(status=0x8O34OOOO)", "Bad_NodeIdUnknown"),
    ] {
        let (r, card) = read(input);
        assert_eq!(card.as_deref(), Some(name), "{input} read as {:?}", r.text);
        assert_eq!(r.codes.len(), 1, "{input}");
        assert!(r.codes[0].note.contains(name), "{:?}", r.codes[0].note);
    }
    // Classic and Windows codes too.
    assert_eq!(read("0xC004OOO7").0.text, "0xC0040007");
}

#[test]
fn ordinary_words_and_numbers_stay_as_written() {
    for input in [
        "Oxford oxidised ox 8x zoom",
        "Oxygenated boxes",
        "OOOOOOOO",
        "BOOLEANS",
        "message id 0x0012A3F0",
        "20261120",
        "Goodbye Good Morning Team",
        "bad quality on tag",
        "bad connection rejected",
        "Uncertainty",
        "S7-1500 SRVO-023",
    ] {
        let (r, card) = read(input);
        assert_eq!(r.text, input, "{input}");
        assert!(r.codes.is_empty(), "{input}: {:?}", r.codes);
        assert_eq!(card, None, "{input}");
    }
}

#[test]
fn a_value_one_known_code_explains_snaps_to_it() {
    // A zero read as 8, an 8 read as B, a leading 8 read as 0.
    for input in ["0x80AC8000", "0x88AC0000", "0xB0AC0000", "0x00AC0000"] {
        let (r, card) = read(input);
        assert_eq!(r.text, "0x80AC0000", "{input}");
        assert_eq!(card.as_deref(), Some("Bad_ConnectionRejected"), "{input}");
        assert!(r.codes[0].note.contains("only known code"), "{:?}", r.codes);
    }
}

#[test]
fn a_value_two_known_codes_explain_gets_no_code_and_both_are_named() {
    for (input, a, b) in [
        ("0x803B8000", "0x80380000", "0x803B0000"),
        ("Ox8O1A8OOO", "0x801A0000", "0x807A0000"),
        ("0x80130800", "0x80130000", "0x80730000"),
    ] {
        let (r, card) = read(input);
        assert_eq!(card, None, "{input}: no code may be invented");
        assert_eq!(r.text, input, "{input}");
        let c = &r.codes[0];
        assert_eq!(c.read_as, None);
        let named: Vec<&str> = c.ambiguous.iter().map(|k| k.hex.as_str()).collect();
        assert_eq!(named, [a, b], "{input}");
        assert!(
            c.note.contains(a) && c.note.contains(b) && c.note.contains("not guessing"),
            "{}",
            c.note
        );
    }
}

#[test]
fn a_value_no_known_code_explains_is_said_plainly_with_the_nearest() {
    let (r, card) = read("0x80FF0000");
    assert_eq!(card, None);
    let c = &r.codes[0];
    assert_eq!(c.read_as, None);
    assert!(c.note.starts_with("“0x80FF0000” is not a known status code; nearest known codes: 0x800F0000 (Bad_NothingToDo)"), "{}", c.note);
    assert_eq!(c.nearest.len(), MAX_NEAREST);
}

#[test]
fn misread_names_read_as_the_one_name_they_can_be() {
    for (input, name) in [
        ("Bad_NodeldUnknown", "Bad_NodeIdUnknown"),
        ("BadSecurityChecksFai1ed", "Bad_SecurityChecksFailed"),
        ("Bad_Time0ut", "Bad_Timeout"),
        ("Bad_Tirneout", "Bad_Timeout"),
        ("Bad_ldentityTokenlnvalid", "Bad_IdentityTokenInvalid"),
        ("Bad_ConectionRejected", "Bad_ConnectionRejected"),
        ("Bad Connection Rejected", "Bad_ConnectionRejected"),
        ("BAD CONNECTION REJECTED", "Bad_ConnectionRejected"),
        ("Bad-Connection-Rejected", "Bad_ConnectionRejected"),
        ("Bad.ConnectionRejected", "Bad_ConnectionRejected"),
        ("Bad_ ConnectionRejected", "Bad_ConnectionRejected"),
        ("Uncertain Last Usable Value", "Uncertain_LastUsableValue"),
    ] {
        let (r, card) = read(input);
        assert_eq!(r.text, name, "{input}");
        assert_eq!(card.as_deref(), Some(name), "{input}");
        assert_eq!(r.codes[0].read_as.as_deref(), Some(name), "{input}");
    }
    // A guide's own alarm name (not a status code) is a name too, but gets no card.
    let (r, card) = read("tag quality Bad_Sta1e");
    assert_eq!(r.text, "tag quality Bad_Stale");
    assert_eq!(card, None);
    // Joining stops where the name ends.
    let (r, _) = read("Bad Connection Rejected by Kepware");
    assert_eq!(r.text, "Bad_ConnectionRejected by Kepware");
    // Case and underscores alone are no misread.
    assert!(read("bad_stale badtimeout").0.codes.is_empty());
}

#[test]
fn short_or_ambiguous_names_are_not_guessed() {
    // Too short to match by edit distance, and matching nothing by look.
    for input in ["Bad_Stal", "Bad_Tme", "Good_Thing", "Bad_Xyzzy"] {
        let (r, _) = read(input);
        assert_eq!(r.text, input);
        assert!(r.codes.is_empty(), "{input}: {:?}", r.codes);
    }
    // One edit from Bad_DecodingError and from Bad_EncodingError.
    let (r, card) = read("Bad_EecodingError");
    assert_eq!(card, None);
    assert_eq!(r.text, "Bad_EecodingError");
    let c = &r.codes[0];
    assert_eq!(c.read_as, None);
    assert_eq!(c.ambiguous.len(), 2);
    assert!(c.note.contains("Bad_DecodingError") && c.note.contains("Bad_EncodingError"));
}

#[test]
fn a_name_beats_a_different_hex_on_its_line() {
    for input in [
        "0x80130000 Bad_ConnectionRejected",
        "Status 0x80770000: Bad Connection Rejected",
        "Bad_ConnectionRejected (0x80AB0000)",
        "Bad_ConnectionRejected (0x80A80000)",
    ] {
        let (r, card) = read(input);
        assert_eq!(card.as_deref(), Some("Bad_ConnectionRejected"), "{input}");
        assert!(
            !r.text.contains("0x80"),
            "{input}: the hex is left out: {}",
            r.text
        );
        assert!(
            r.codes.iter().any(|c| c.note.contains("trusting the name")),
            "{input}: {:?}",
            r.codes
        );
    }
    // On a long line, a misread explains the hex (B read as 8 from Bad_NotWritable's
    // 0x803B0000): left out; a hex no misread explains is another code on purpose: kept.
    let long = "the write to the tag was refused by the server with Bad_NotWritable";
    let r = lexicon().read(&format!("{long} 0x80380000"));
    assert!(!r.text.contains("0x8038"), "{}", r.text);
    let r = lexicon().read(&format!("{long} 0x80AC0000"));
    assert!(r.text.contains("0x80AC0000") && r.codes.is_empty(), "{r:?}");
    // The same code twice, two names, or another line: nothing is left out.
    for input in [
        "Bad_ConnectionRejected (0x8OACOOOO)",
        "Bad_Timeout Bad_ConnectionRejected 0x80130000",
        "Bad_ConnectionRejected\n0x80130000",
    ] {
        let r = lexicon().read(input);
        assert!(
            !r.codes.iter().any(|c| c.note.contains("trusting")),
            "{input}: {:?}",
            r.codes
        );
    }
}

#[test]
fn hostile_input_does_not_panic() {
    let long = "Bad ".repeat(5_000);
    for input in [
        "",
        "\n\n",
        "Ox",
        "@x@@@@@@@@",
        "Bad",
        "Bad_",
        "é0xOOOOOOOO",
        &long,
        "Ox8OACOOOOé",
    ] {
        let _ = lexicon().read(input);
    }
}
