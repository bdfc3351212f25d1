//! Documents as users keep them: CloudFormation intrinsics in every form, Terraform
//! variables, Swagger 2.0, and the REST-or-HTTP inference from the features a document uses.

use std::path::Path;

use specgate::ir::Flavor;
use specgate::placeholders::Vars;
use specgate::{analyze_text_with, Options};

fn analyze(text: &str, vars: &[&str]) -> specgate::Analysis {
    let pairs: Vec<String> = vars.iter().map(|s| s.to_string()).collect();
    let opts = Options {
        vars: Vars::new(&pairs, &[], None).unwrap(),
        for_build: false,
    };
    analyze_text_with(Path::new("doc.yaml"), text.to_string(), &opts)
}

fn messages(a: &specgate::Analysis) -> Vec<String> {
    a.diagnostics
        .items()
        .iter()
        .map(|d| format!("{} {}: {}", d.severity.as_str(), d.code.id, d.message))
        .collect()
}

/// The integration uri the document renders to.
fn uri_of(a: &specgate::Analysis) -> String {
    let root = a.loaded.root_tree().unwrap();
    let i = root
        .pointer("/paths/~1a/get/x-amazon-apigateway-integration/uri")
        .expect("an integration uri");
    i.as_str()
        .unwrap_or_else(|| panic!("uri is {:?}", i.value))
        .to_string()
}

fn doc(uri: &str) -> String {
    format!(
        "openapi: 3.0.1\ninfo: {{title: t, version: '1'}}\npaths:\n  /a:\n    get:\n      responses: {{'200': {{description: ok}}}}\n      x-amazon-apigateway-integration:\n        type: http_proxy\n        httpMethod: GET\n        uri: {uri}\n"
    )
}

#[test]
fn every_intrinsic_form_renders_with_values() {
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "!Ref Backend",
            &["Backend=http://b.example"],
            "http://b.example",
        ),
        (
            "{Ref: Backend}",
            &["Backend=http://b.example"],
            "http://b.example",
        ),
        (
            "!GetAtt Alb.DNSName",
            &["Alb.DNSName=http://alb"],
            "http://alb",
        ),
        (
            "{'Fn::GetAtt': [Alb, DNSName]}",
            &["Alb.DNSName=http://alb"],
            "http://alb",
        ),
        (
            "!Sub 'http://${Host}/x'",
            &["Host=h.example"],
            "http://h.example/x",
        ),
        (
            "{'Fn::Sub': ['http://${H}:${P}/x', {P: '8080'}]}",
            &["H=h"],
            "http://h:8080/x",
        ),
        ("!Sub 'http://h/${!Literal}'", &[], "http://h/${Literal}"),
        (
            "{'Fn::Join': ['', ['http://', !Ref Host, '/x']]}",
            &["Host=h"],
            "http://h/x",
        ),
        (
            "!Select [1, !Split [',', 'http://a,http://b']]",
            &[],
            "http://b",
        ),
        (
            "{'Fn::ImportValue': SharedUrl}",
            &["SharedUrl=http://s"],
            "http://s",
        ),
        (
            "{'Fn::FindInMap': [Urls, prod, api]}",
            &["Urls.prod.api=http://m"],
            "http://m",
        ),
        (
            "{'Fn::If': [IsProd, 'http://prod', 'http://dev']}",
            &["IsProd=false"],
            "http://dev",
        ),
        (
            "'https://${api_host}/x'",
            &["api_host=t.example"],
            "https://t.example/x",
        ),
        (
            "'https://h.${AWS::URLSuffix}/x'",
            &[],
            "https://h.amazonaws.com/x",
        ),
    ];
    for (form, vars, want) in cases {
        let a = analyze(&doc(form), vars);
        assert_eq!(&uri_of(&a), want, "{form}");
        assert!(
            !messages(&a).iter().any(|m| m.contains("SG0013")),
            "{form}: {:?}",
            messages(&a)
        );
    }
}

#[test]
fn placeholders_without_values_are_one_warning_each_and_no_follow_on_error() {
    let cases: &[(&str, &str)] = &[
        ("!Ref Backend", "CloudFormation `Ref` `Backend` has no value; the gateway needs it for the integration uri"),
        ("!GetAtt Alb.DNSName", "CloudFormation `Fn::GetAtt` `Alb.DNSName` has no value"),
        ("!Sub 'http://${Host}/x'", "CloudFormation `Fn::Sub` variable `Host` has no value"),
        ("{'Fn::ImportValue': SharedUrl}", "CloudFormation `Fn::ImportValue` `SharedUrl` has no value"),
        ("'${base_url}/x'", "Terraform `templatefile` variable `base_url` has no value"),
        ("'http://h/${AWS::Region}'", "CloudFormation pseudo parameter `AWS::Region` has no value"),
        ("{'Fn::If': [IsProd, 'http://prod', 'http://dev']}", "CloudFormation `Fn::If` condition `IsProd` has no value"),
    ];
    for (form, want) in cases {
        let a = analyze(&doc(form), &[]);
        let m = messages(&a);
        assert_eq!(a.diagnostics.error_count(), 0, "{form}: {m:?}");
        assert_eq!(m.len(), 1, "{form}: {m:?}");
        assert!(m[0].contains(want), "{form}: {m:?}");
    }
    // The same name written twice is one warning.
    let twice = doc("!Sub 'http://${Host}/${Host}'");
    assert_eq!(messages(&analyze(&twice, &[])).len(), 1);
    // API Gateway's own `${stageVariables.x}` is no placeholder; nor is VTL in templates.
    let a = analyze(&doc("'http://${stageVariables.host}/x'"), &[]);
    assert!(messages(&a).is_empty(), "{:?}", messages(&a));
}

#[test]
fn build_mode_refuses_needed_placeholders_only() {
    let opts = Options {
        vars: Vars::default(),
        for_build: true,
    };
    let text = "openapi: 3.0.1\ninfo: {title: !Sub '${AWS::StackName}', version: '1'}\npaths:\n  /a:\n    get:\n      responses: {'200': {description: ok}}\n      x-amazon-apigateway-integration: {type: http_proxy, httpMethod: GET, uri: !Sub 'http://${Alb.DNSName}/a'}\n";
    let a = analyze_text_with(Path::new("doc.yaml"), text.into(), &opts);
    let m = messages(&a);
    assert_eq!(
        m,
        vec!["error SG0013: `Alb.DNSName` has no value, and the gateway needs it for the integration uri"],
        "the title's stack name stays text"
    );
}

fn flavor(text: &str) -> (Flavor, Vec<String>) {
    let a = analyze(text, &[]);
    let m = messages(&a);
    (a.api.expect("lowered").flavor, m)
}

fn with_integration(integration: &str, root_extra: &str) -> String {
    format!(
        "openapi: 3.0.1\ninfo: {{title: t, version: '1'}}\n{root_extra}paths:\n  /a:\n    get:\n      responses: {{'200': {{description: ok}}}}\n      x-amazon-apigateway-integration: {integration}\n"
    )
}

#[test]
fn api_type_is_inferred_from_the_features_used() {
    let proxy = "{type: http_proxy, httpMethod: GET, uri: 'http://h/a'}";
    // Nothing either way: REST, API Gateway's default.
    assert_eq!(flavor(&with_integration(proxy, "")).0, Flavor::Rest);
    // Each HTTP API marker alone.
    for (integration, root) in [
        ("{type: http_proxy, httpMethod: GET, uri: 'http://h/a', payloadFormatVersion: '1.0'}", ""),
        (proxy, "x-amazon-apigateway-cors: {allowOrigins: ['*']}\n"),
        (proxy, "x-amazon-apigateway-importexport-version: '1.0'\n"),
        (proxy, "components:\n  x-amazon-apigateway-integrations:\n    i: {type: http_proxy, httpMethod: GET, uri: 'http://h'}\n"),
        ("{type: http_proxy, httpMethod: GET, uri: 'http://h/a', requestParameters: {'overwrite:header.x': '$request.header.y'}}", ""),
    ] {
        assert_eq!(flavor(&with_integration(integration, root)).0, Flavor::Http, "{integration} {root}");
    }
    let jwt = "components:\n  securitySchemes:\n    j:\n      type: oauth2\n      flows: {}\n      x-amazon-apigateway-authorizer: {type: jwt, jwtConfiguration: {issuer: 'https://i', audience: [a]}, identitySource: '$request.header.Authorization'}\n";
    assert_eq!(flavor(&with_integration(proxy, jwt)).0, Flavor::Http);
    // Each REST API marker alone.
    for (integration, root) in [
        ("{type: mock, requestTemplates: {application/json: '{\"statusCode\": 200}'}, responses: {default: {statusCode: '200'}}}", ""),
        ("{type: http, httpMethod: GET, uri: 'http://h/a', responses: {default: {statusCode: '200'}}}", ""),
        (proxy, "x-amazon-apigateway-api-key-source: HEADER\n"),
        (proxy, "x-amazon-apigateway-gateway-responses: {DEFAULT_4XX: {statusCode: 400}}\n"),
        (proxy, "x-amazon-apigateway-request-validators: {all: {validateRequestBody: true, validateRequestParameters: true}}\n"),
    ] {
        assert_eq!(flavor(&with_integration(integration, root)).0, Flavor::Rest, "{integration} {root}");
    }
    // Both: REST, one warning naming both places (and the HTTP-only field reported as ignored).
    let (f, m) = flavor(&with_integration(
        "{type: mock, payloadFormatVersion: '1.0', requestTemplates: {application/json: '{\"statusCode\": 200}'}, responses: {default: {statusCode: '200'}}}",
        "",
    ));
    assert_eq!(f, Flavor::Rest);
    assert_eq!(
        m.iter()
            .filter(|x| x.contains("uses both REST API features"))
            .count(),
        1,
        "{m:?}"
    );
    assert_eq!(
        m.iter().filter(|x| x.starts_with("error")).count(),
        0,
        "{m:?}"
    );
    // `x-specgate-api-type` always wins.
    let (f, m) = flavor(&with_integration(
        "{type: http_proxy, httpMethod: GET, uri: 'http://h/a', payloadFormatVersion: '1.0'}",
        "x-specgate-api-type: rest\n",
    ));
    assert_eq!(f, Flavor::Rest);
    assert!(!m.iter().any(|x| x.contains("uses both")), "{m:?}");
}

#[test]
fn swagger2_diagnostics_point_into_the_2_0_file() {
    let text = r##"{
  "swagger": "2.0",
  "info": {"title": "t", "version": "1"},
  "paths": {
    "/a": {
      "get": {
        "parameters": [{"name": "q", "in": "query", "type": "integer", "required": true}],
        "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Missing"}}},
        "x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 200}"}, "responses": {"default": {"statusCode": "200"}}, "timeoutInMillis": 10}
      }
    }
  }
}"##;
    let a = specgate::analyze_text(Path::new("old.json"), text.into());
    let found: Vec<String> = a
        .diagnostics
        .items()
        .iter()
        .map(|d| format!("{} {}", d.code.id, a.loaded.db.location(d.primary.span)))
        .collect();
    // The reference, rewritten to `#/components/schemas/Missing`, is reported where the
    // 2.0 file writes it; so is the integration's timeout.
    assert!(
        found.contains(&"SG0010 old.json:8:71".to_string()),
        "{found:?}"
    );
    assert!(
        found.iter().any(|f| f.starts_with("SG0303 old.json:9:")),
        "{found:?}"
    );
    let api = a.api.unwrap();
    let p = &api.routes[0].parameters[0];
    assert_eq!(p.name, "q");
}

/// A multi-line quoted scalar indented as PyYAML (and so CloudFormation) accepts it: read
/// with PyYAML's value, one warning, and every later location still exact.
#[test]
fn under_indented_quoted_scalars_are_read_as_pyyaml_reads_them() {
    let text = "openapi: 3.0.1\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses: {'200': {description: ok}}\n      x-amazon-apigateway-integration:\n        type: mock\n        requestTemplates:\n          application/json: \"{\n  \\\"statusCode\\\": 200\n}\"\n        responses: {default: {statusCode: '200'}}\n        timeoutInMillis: 5\n";
    let a = specgate::analyze_text(Path::new("sam.yaml"), text.into());
    let root = a.loaded.root_tree().unwrap();
    let t = root
        .pointer(
            "/paths/~1a/get/x-amazon-apigateway-integration/requestTemplates/application~1json",
        )
        .unwrap();
    assert_eq!(
        t.as_str(),
        Some("{ \"statusCode\": 200 }"),
        "PyYAML's value"
    );
    let found: Vec<String> = a
        .diagnostics
        .items()
        .iter()
        .map(|d| {
            format!(
                "{} {} {}",
                d.severity.as_str(),
                d.code.id,
                a.loaded.db.location(d.primary.span)
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            "warning SG0002 sam.yaml:10:29",
            "error SG0303 sam.yaml:14:26"
        ],
        "{found:?}"
    );
}

/// Found in a public SAM project: a CORS header value kept in a template parameter
/// (`Fn::Sub: ${CorsHeaders}`) is a placeholder the gateway needs, reported once, not also
/// an invalid mapping expression.
#[test]
fn placeholders_in_mappings_are_placeholders_only() {
    let text = "openapi: 3.0.1\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses: {'200': {description: ok, headers: {Access-Control-Allow-Headers: {schema: {type: string}}}}}\n      x-amazon-apigateway-integration:\n        type: mock\n        requestTemplates: {application/json: '{\"statusCode\": 200}'}\n        requestParameters:\n          integration.request.header.x-stage: {'Fn::Sub': \"'${Stage}'\"}\n        responses:\n          default:\n            statusCode: 200\n            responseParameters:\n              method.response.header.Access-Control-Allow-Headers:\n                Fn::Sub: ${CorsHeaders}\n";
    let a = analyze(text, &[]);
    let m = messages(&a);
    assert_eq!(a.diagnostics.error_count(), 0, "{m:?}");
    assert!(
        m.iter().any(|x| x.contains(
            "`CorsHeaders` has no value; the gateway needs it for a response parameter mapping"
        )),
        "{m:?}"
    );
    assert!(
        m.iter().any(|x| x.contains(
            "`Stage` has no value; the gateway needs it for a request parameter mapping"
        )),
        "{m:?}"
    );
    // With values, the mappings are checked as usual.
    let a = analyze(text, &["CorsHeaders='Content-Type'", "Stage=prod"]);
    assert!(
        messages(&a)
            .iter()
            .all(|x| !x.contains("SG0013") && !x.contains("SG0307")),
        "{:?}",
        messages(&a)
    );
}
