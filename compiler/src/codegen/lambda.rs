//! Code generation: Lambda integrations: `aws_proxy` (events and proxy responses) and `aws` (templates, error selection, async invocation).

use super::*;

/// A Lambda integration: `aws_proxy` (the event in, the proxy response out) or `aws`
/// (request templates build the payload, integration responses are selected by the
/// function's `errorMessage`).
pub(super) fn lambda(
    api: &Api,
    r: &Route,
    i: &Integration,
    handler: &proc_macro2::Ident,
) -> TokenStream {
    let Some(IntegrationUri::Lambda {
        region, function, ..
    }) = i.uri.as_ref().map(|u| &u.value)
    else {
        // `check` refuses AWS-service integrations; nothing else reaches here.
        return quote!(rt.gateway_response(cx, ResponseType::ApiConfigurationError));
    };
    let function = stage_string(function);
    let timeout = i.timeout_ms.value as u64;
    let types = binary_types(api);
    let invoke = |payload: TokenStream, kind: TokenStream| {
        quote! {
            let function = #function;
            let payload = #payload;
            cx.exec_body("Endpoint request body after transformations", &payload);
            let trace = cx.trace_id().map(|t| t.into_owned());
            let started = std::time::Instant::now();
            let invoked = rt.lambda.invoke(
                &rt.client,
                &function,
                #region,
                payload,
                #kind,
                std::time::Duration::from_millis(#timeout),
                trace.as_deref(),
            ).await;
            cx.integration_done(started, invoked.as_ref().ok().map(|_| 200));
            lambda::log_invocation(cx, &function, &invoked);
        }
    };
    let sync = quote!(lambda::InvocationType::RequestResponse);
    if i.kind.value == IntegrationType::AwsProxy {
        let read = quote! {
            let body = match vtl::mapping::read_body(req).await {
                Ok(b) => b,
                Err(r) => return r,
            };
        };
        return if api.flavor == Flavor::Http {
            let version = i
                .payload_format_version
                .as_ref()
                .map_or("2.0", |v| v.value.as_str());
            let event = if version == "1.0" {
                quote!(lambda::event::v1_json(cx, &body, &[], Some("1.0")))
            } else {
                let route_key = route_key(r);
                quote!(lambda::event::v2_json(cx, &body, #route_key))
            };
            let call = invoke(quote!(Bytes::from(#event)), sync);
            quote! {
                #read
                #call
                match invoked {
                    Ok(out) => lambda::proxy::http_api(rt, cx, &out, #version),
                    Err(e) => lambda::failure(rt, cx, &e),
                }
            }
        } else if i.stream_response.is_some() {
            quote! {
                #read
                let function = #function;
                let payload = Bytes::from(lambda::event::v1_json(cx, &body, #types, None));
                let trace = cx.trace_id().map(|t| t.into_owned());
                let timeout = std::time::Duration::from_millis(#timeout);
                let started = std::time::Instant::now();
                let invoked = rt.lambda.invoke_stream(
                    &rt.client,
                    &function,
                    #region,
                    payload,
                    timeout,
                    trace.as_deref(),
                ).await;
                cx.integration_done(started, invoked.as_ref().ok().map(|_| 200));
                lambda::streamed(rt, cx, invoked, timeout).await
            }
        } else {
            let call = invoke(
                quote!(Bytes::from(lambda::event::v1_json(cx, &body, #types, None))),
                sync,
            );
            quote! {
                #read
                #call
                match invoked {
                    Ok(out) => lambda::proxy::rest(cx, &out, #types),
                    Err(e) => lambda::failure(rt, cx, &e),
                }
            }
        };
    }
    // Non-proxy: `X-Amz-Invocation-Type: 'Event'` makes the call asynchronous.
    let asynchronous = i.request_parameters.iter().any(|(t, s)| {
        t.value
            .strip_prefix("integration.request.header.")
            .is_some_and(|h| h.eq_ignore_ascii_case("x-amz-invocation-type"))
            && static_value(&s.value) == Some("Event")
    });
    let kind = if asynchronous {
        quote!(lambda::InvocationType::Event)
    } else {
        sync
    };
    let mapping = request_mapping(api, i, handler);
    let call = invoke(quote!(mapped.body.map(Bytes::from).unwrap_or(body)), kind);
    let responses = if i.responses.is_empty() {
        quote!(rt.gateway_response(cx, ResponseType::ApiConfigurationError))
    } else {
        integration_responses(api, i, Selector::Lambda, handler)
    };
    let ov = templated(i).then(|| quote!(let ov = mapped.overrides;));
    quote! {
        #mapping
        #ov
        #call
        let out = match invoked {
            Ok(out) => out,
            Err(e) => return lambda::failure(rt, cx, &e),
        };
        // Integration responses are selected by the function's `errorMessage` (empty when
        // it did not fail); the payload is what templates see.
        let selector = lambda::error_message(&out);
        let backend = upstream::Buffered::new(200, http::HeaderMap::new(), out.payload);
        #responses
    }
}
