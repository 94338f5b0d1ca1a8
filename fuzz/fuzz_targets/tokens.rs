//! The offline validators on arbitrary bytes: the token decoders (JWT,
//! PyPI macaroons, Sentry, 1Password, Azure SAS), every checksum, the key
//! checks, the generic rule's checks, and `validate::run` with every
//! validator: no panic. Properties of the generic rule: wherever its regex
//! matches, `may_assign` says it may, and `generic_groups`, where it
//! answers, gives the regex's own `binding` and `secret` groups.
#![no_main]

use keytrace::validate::{self, checksums, generic, keys, tokens, Around, Validator};
use keytrace_fuzz::builtin_rules;
use libfuzzer_sys::fuzz_target;

const ALL: [Validator; 20] = [
    Validator::Crc32Base62,
    Validator::Jwt,
    Validator::AwsKeyId,
    Validator::PrivateKey,
    Validator::ConnectionString,
    Validator::Generic,
    Validator::GrafanaCrc32,
    Validator::ZuploCrc32,
    Validator::ConfluentCrc32,
    Validator::GitlabRoutable,
    Validator::PypiMacaroon,
    Validator::AtlassianCrc32,
    Validator::Bech32,
    Validator::SentryOrgToken,
    Validator::OnepasswordServiceAccount,
    Validator::AzureSas,
    Validator::AzureIdentifiable,
    Validator::JetbrainsPassword,
    Validator::GcpKeyFile,
    Validator::EntraClientSecret,
];

fuzz_target!(|data: &[u8]| {
    let at = data
        .first()
        .map_or(0, |&b| usize::from(b) % (data.len() + 1));
    let seed = data
        .iter()
        .take(8)
        .fold(0u64, |s, &b| s.rotate_left(8) ^ u64::from(b));
    // Token formats.
    let _ = tokens::jwt_token(data);
    let _ = tokens::pypi_macaroon(data);
    let _ = tokens::sentry_org_token(data);
    let _ = tokens::onepassword_service_account(data);
    let _ = tokens::azure_sas(data, at);
    // Checksums.
    let _ = checksums::marvin(data, seed);
    let _ = checksums::marvin32(data, seed);
    let _ = checksums::azure_identifiable(data);
    let _ = checksums::atlassian_crc32(data);
    let _ = checksums::bech32(data);
    let split = data.iter().position(|&b| b == b'1').unwrap_or(0);
    let _ = checksums::bech32_polymod(&data[..split], &data[split..]);
    let _ = checksums::gitlab_routable(data);
    let _ = checksums::grafana_crc32(data);
    let _ = checksums::zuplo_crc32(data);
    let _ = checksums::confluent_crc32(data);
    let _ = checksums::crc32_base62(data);
    let width = at % 40;
    assert!(checksums::base36(seed, width).len() >= width);
    assert!(checksums::base62(seed, width).len() >= width);
    // Keys.
    let _ = keys::private_key(data);
    let _ = keys::aws_key_id(data);
    let _ = keys::aws_account_id(data);
    // The generic rule's checks.
    let eq = data.iter().position(|&b| b == b'=');
    let name = eq.map(|i| &data[..i]);
    let _ = generic::generic_value(data);
    let _ = generic::generic_assignment(eq.map_or(data, |i| &data[i + 1..]), name, data);
    let may = generic::may_assign(data);
    let rule = builtin_rules()
        .get("generic-secret-assignment")
        .expect("the generic rule");
    assert_eq!(rule.spec.pattern, generic::GENERIC_PATTERN);
    for caps in rule.regex().captures_iter(data) {
        let m = caps.get(0).expect("group 0");
        assert!(
            may,
            "the generic regex matches at {} but may_assign says no",
            m.start()
        );
        let want = (
            caps.name("binding").expect("binding").range(),
            caps.name("secret").expect("secret").range(),
        );
        if let Some(got) = generic::generic_groups(data, m.start(), m.end()) {
            assert_eq!(got, want, "generic_groups for the match {:?}", m.range());
        }
    }
    // Every validator through `run`, with what surrounds the value.
    let around = Around {
        key_id: (at % 2 == 0).then_some(data),
        binding: name,
        line: data,
        at,
        hay: data,
        hay_at: at,
    };
    for v in ALL {
        let _ = validate::run(v, data, &around);
        let _ = validate::run(v, data, &Around::default());
    }
});
