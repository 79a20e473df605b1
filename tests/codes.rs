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
