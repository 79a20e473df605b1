//! Status codes as every OPC UA stack prints them: the ANSI C stack, open62541, .NET and Java,
//! Python and Go, glued to a log line's punctuation. Each gets the status-code card and the
//! guide that owns the code first.

mod common;

use common::*;

#[tokio::test]
async fn every_stack_spelling_gets_the_status_card_and_the_owning_guide_first() {
    let app = spawn_app().await;
    for (pasted, name, guide) in [
        ("OpcUa_BadConnectionRejected", "Bad_ConnectionRejected", "ignition-opcua-bad-connectionrejected-kepware"),
        ("connect error=(UA_STATUSCODE_BADCONNECTIONREJECTED);", "Bad_ConnectionRejected", "ignition-opcua-bad-connectionrejected-kepware"),
        ("UA_STATUSCODE_BADCERTIFICATEURIINVALID", "Bad_CertificateUriInvalid", "ignition-opcua-bad-certificateuriinvalid"),
        ("Opc.Ua.ServiceResultException: StatusCodes.BadCertificateUntrusted", "Bad_CertificateUntrusted", "ftlinx-opcua-certificate-rejected"),
        ("StatusCodes.Bad_TooManySubscriptions", "Bad_TooManySubscriptions", "ignition-opcua-subscription-lost"),
        ("asyncua.ua.uaerrors._auto.BadIdentityTokenInvalid: \"The user identity token is not valid.\"", "Bad_IdentityTokenInvalid", "ignition-opcua-no-anonymous-token-policy"),
        ("write failed: ua.StatusBadNotWritable", "Bad_NotWritable", "ignition-logix-tag-write-bad-quality"),
    ] {
        let q: String = form_urlencoded::byte_serialize(pasted.as_bytes()).collect();
        let (status, answer) = app.get_json(&format!("/api/search?q={q}")).await;
        assert_eq!(status, 200);
        assert_eq!(answer["status_code"]["name"], name, "{pasted}: {answer}");
        assert_eq!(answer["hits"][0]["slug"], guide, "{pasted}");
    }
}

#[tokio::test]
async fn alarm_links_take_opc_classic_and_windows_codes_in_every_notation() {
    let app = spawn_app().await;
    for (code, guide) in [
        ("OPC_E_INVALIDITEMID", "rslinx-opc-da-unknown-item-id"),
        ("0xC0040008", "rslinx-opc-da-unknown-item-id"),
        ("3221487626", "rslinx-opc-da-unknown-item-id"),
        ("-1073479670", "rslinx-opc-da-unknown-item-id"),
        ("0x80070005", "opc-da-dcom-hardening-access-denied"),
        ("-2147024891", "opc-da-dcom-hardening-access-denied"),
        ("E_ACCESSDENIED", "opc-da-dcom-hardening-access-denied"),
    ] {
        let res = app.get(&format!("/alarm/{code}")).await;
        assert_eq!(res.status().as_u16(), 302, "{code}");
        let to = res.headers()["location"]
            .to_str()
            .expect("ascii")
            .to_string();
        assert!(
            to.starts_with(&format!("/guides/{guide}")),
            "{code} -> {to}"
        );
    }
    // A classic code no guide lists goes to the search page, never to a wrong guide.
    let res = app.get("/alarm/OPC_E_NOBUFFERING").await;
    let to = res.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(to.starts_with("/search"), "{to}");
}

#[tokio::test]
async fn every_opc_classic_and_windows_code_is_explained_in_every_notation() {
    let app = spawn_app().await;
    let table = faultbook::search::classic::table();
    assert!(table.all().len() >= 90);
    for code in table.all() {
        for written in [
            code.name.clone(),
            code.hex(),
            format!("{}", code.value),
            format!("{}", code.signed()),
        ] {
            // Short decimals (success codes) are ordinary numbers, by design.
            if written.trim_start_matches('-').len() < 7
                && written.bytes().all(|b| b.is_ascii_digit() || b == b'-')
            {
                continue;
            }
            let line = format!("[OPC] call failed: hr={written};");
            let q: String = form_urlencoded::byte_serialize(line.as_bytes()).collect();
            let (status, answer) = app.get_json(&format!("/api/search?q={q}")).await;
            assert_eq!(status, 200);
            let names: Vec<&str> = answer["classic_codes"]
                .as_array()
                .expect("classic_codes")
                .iter()
                .filter_map(|c| c["name"].as_str())
                .collect();
            assert!(names.contains(&code.name.as_str()), "{line}: {names:?}");
        }
    }
}

#[tokio::test]
async fn a_pasted_factorytalk_or_dcom_log_line_gets_the_explanation_and_its_guide() {
    let app = spawn_app().await;
    for (line, name, guide) in [
        (
            "RSLinx OPC: AddItems for [PLC5_Line4]N7:0 failed, error 0xC0040008",
            "OPC_E_INVALIDITEMID",
            "rslinx-opc-da-unknown-item-id",
        ),
        (
            "Unable to connect to OPC server RSLinx OPC Server on node HMI02: CoCreateInstanceEx returned 0x80070005 (E_ACCESSDENIED)",
            "E_ACCESSDENIED",
            "opc-da-dcom-hardening-access-denied",
        ),
    ] {
        let q: String = form_urlencoded::byte_serialize(line.as_bytes()).collect();
        let (_, answer) = app.get_json(&format!("/api/search?q={q}")).await;
        let card = &answer["classic_codes"][0];
        assert_eq!(card["name"], name, "{line}");
        assert!(card["description"].as_str().is_some_and(|d| d.len() > 40));
        assert!(card["guides"].to_string().contains(guide), "{line}: {card}");
        assert_eq!(answer["hits"][0]["slug"], guide, "{line}");
        let (status, page) = app.get_text(&format!("/search?q={q}")).await;
        assert_eq!(status, 200);
        assert!(page.contains(&format!("<code>{name}</code>")), "{line}");
    }
    // A value with two names shows both.
    let (_, answer) = app.get_json("/api/search?q=0xC0040203").await;
    let names = answer["classic_codes"].to_string();
    assert!(
        names.contains("OPC_E_INVALID_PID") && names.contains("OPC_E_INVALIDBRANCHNAME"),
        "{names}"
    );
}
