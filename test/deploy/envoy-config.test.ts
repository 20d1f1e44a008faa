import { parse } from 'yaml';
import { readText } from './deploy-files';
import { EnvoyProtoValidator, type ProtoIssue } from './envoy-proto-validator';

const BOOTSTRAP = 'envoy.config.bootstrap.v3.Bootstrap';
const ENVOY_YAML = readText('deploy/envoy.yaml');

// Loading Envoy's protos takes a moment; one validator serves every case.
const validator = new EnvoyProtoValidator();

function validateText(text: string): ProtoIssue[] {
  return validator.validate(parse(text), BOOTSTRAP);
}

function messages(issues: readonly ProtoIssue[]): string[] {
  return issues.map((i) => `${i.path}: ${i.message}`);
}

/** deploy/envoy.yaml with one textual change, which must be present exactly once. */
function mutate(from: string, to: string): string {
  const count = ENVOY_YAML.split(from).length - 1;
  if (count !== 1) throw new Error(`expected "${from}" once in deploy/envoy.yaml, found ${count}`);
  return ENVOY_YAML.replace(from, to);
}

describe('deploy/envoy.yaml against Envoy protos', () => {
  it('has only fields, enum values and @types that Envoy knows', () => {
    expect(messages(validateText(ENVOY_YAML))).toEqual([]);
  });

  it('resolves every typed_config it holds (the walk reaches inside them)', () => {
    // A misspelling nested three @types deep is found, so the walk is not stopping at Any.
    const issues = validateText(mutate('pack_as_bytes: true', 'pack_as_byte: true'));
    expect(messages(issues)).toEqual([
      expect.stringMatching(
        /with_request_body\.pack_as_byte: unknown field "pack_as_byte" in envoy\.extensions\.filters\.http\.ext_authz\.v3\.BufferSettings/,
      ),
    ]);
  });

  it.each([
    ['a misspelled field in the cluster', 'dns_refresh_rate: 5s', 'dns_refresh_rte: 5s', /unknown field "dns_refresh_rte"/],
    ['a misspelled field in the per-route config', 'context_extensions:', 'context_extension:', /unknown field "context_extension"/],
    [
      'a wrong @type',
      'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
      'type.googleapis.com/envoy.extensions.filters.http.router.v3.Routr',
      /unknown @type "type\.googleapis\.com\/envoy\.extensions\.filters\.http\.router\.v3\.Routr"/,
    ],
    [
      'an @type of the wrong message for its fields',
      'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute',
      'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
      /unknown field "check_settings" in envoy\.extensions\.filters\.http\.ext_authz\.v3\.ExtAuthz/,
    ],
    ['an unknown enum value', 'transport_api_version: V3', 'transport_api_version: V4', /expected one of AUTO, V2, V3/],
    ['a duration without unit', 'timeout: 2.5s', 'timeout: 2.5', /expected a duration such as "0\.25s"/],
    ['a string where a number goes', 'num_retries: 1', 'num_retries: one', /expected a whole number >= 0, got string "one"/],
    [
      'a missing required field',
      '  cluster_name: ext_authz_adapter\n                        #',
      '  authority: adapter\n                        #',
      /cluster_name: required by envoy\.config\.core\.v3\.GrpcService\.EnvoyGrpc/,
    ],
    [
      'two members of one oneof',
      'envoy_grpc:\n',
      'google_grpc: { target_uri: "adapter:9001", stat_prefix: adapter }\n                        envoy_grpc:\n',
      /envoy_grpc and google_grpc are one oneof \(target_specifier\)/,
    ],
    [
      'a deprecated field',
      'lb_policy: ROUND_ROBIN',
      'lb_policy: ROUND_ROBIN\n      http2_protocol_options: {}',
      /field "http2_protocol_options" of envoy\.config\.cluster\.v3\.Cluster is deprecated/,
    ],
  ])('rejects %s', (_label, from, to, expected) => {
    const found = messages(validateText(mutate(from, to)));
    expect(found).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });

  it("sets the path and header hardening of Envoy's edge-proxy best practices", () => {
    const hcm = parse(ENVOY_YAML).static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    expect(hcm).toMatchObject({
      normalize_path: true,
      merge_slashes: true,
      path_with_escaped_slashes_action: 'UNESCAPE_AND_REDIRECT',
      use_remote_address: true,
      common_http_protocol_options: { headers_with_underscores_action: 'REJECT_REQUEST' },
    });
  });

  it.each([
    [
      'path_with_escaped_slashes_action: UNESCAPE_AND_REDIRECT',
      'path_with_escaped_slashes_action: UNESCAPE',
      /expected one of .*UNESCAPE_AND_REDIRECT/,
    ],
    [
      'headers_with_underscores_action: REJECT_REQUEST',
      'headers_with_underscores_action: REJECT',
      /expected one of ALLOW, REJECT_REQUEST, DROP_HEADER/,
    ],
    ['use_remote_address: true', 'use_remote_adress: true', /unknown field "use_remote_adress"/],
  ])('the proto validation covers the hardening: %s', (from, to, expected) => {
    expect(messages(validateText(mutate(from, to)))).toEqual([expect.stringMatching(expected)]);
  });

  it("logs each request with the adapter's rule, reason and user id from the ext_authz dynamic metadata", () => {
    const hcm = parse(ENVOY_YAML).static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    const format: string = hcm.access_log[0].typed_config.log_format.text_format_source.inline_string;
    for (const key of ['rule', 'reason', 'x-user-id']) expect(format).toContain(`%DYNAMIC_METADATA(envoy.filters.http.ext_authz:${key})%`);
  });

  it.each([
    [
      'a misspelled access logger @type',
      'access_loggers.stream.v3.StdoutAccessLog',
      'access_loggers.stream.v3.StdoutAccessLogs',
      /unknown @type/,
    ],
    ['a misspelled log format field', 'text_format_source:', 'text_format_sorce:', /unknown field "text_format_sorce"/],
  ])('the proto validation covers the access log: %s', (_label, from, to, expected) => {
    expect(messages(validateText(mutate(from, to)))).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });

  it('accepts the JSON (camelCase) spelling of a field, as Envoy does', () => {
    expect(messages(validateText(mutate('max_request_bytes: 10240', 'maxRequestBytes: 10240')))).toEqual([]);
  });

  it('rejects one field spelled both ways', () => {
    const text = mutate('max_request_bytes: 10240', 'max_request_bytes: 10240\n                        maxRequestBytes: 10240');
    expect(messages(validateText(text))).toEqual([expect.stringMatching(/"maxRequestBytes" and "max_request_bytes" are the same field/)]);
  });
});

describe('EnvoyProtoValidator on well-known types', () => {
  const ANY = 'google.protobuf.Any';
  it.each([
    ['a Duration inside Any', { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '1.5s' }, []],
    ['a Struct inside Any', { '@type': 'type.googleapis.com/google.protobuf.Struct', value: { a: [1, { b: 2 }] } }, []],
    ['a bad Duration inside Any', { '@type': 'type.googleapis.com/google.protobuf.Duration', value: 90 }, [/value: expected a duration/]],
    ['an Any without @type', { name: 'x' }, [/expected "@type: type\.googleapis\.com\/<message>"/]],
    [
      'a type URL on another host',
      { '@type': 'example.com/envoy.extensions.filters.http.router.v3.Router' },
      [/expected the prefix type\.googleapis\.com\//],
    ],
  ])('%s', (_label, value, expected) => {
    const found = messages(validator.validate(value, ANY));
    expect(found).toEqual(expected.map((re) => expect.stringMatching(re)));
  });

  it('reads a UInt32Value as a plain number and a map of Any by @type', () => {
    const cluster = {
      name: 'c',
      per_connection_buffer_limit_bytes: 32768,
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
          explicit_http_config: { http2_protocol_options: { max_concurrent_streams: -1 } },
        },
      },
    };
    expect(messages(validator.validate(cluster, 'envoy.config.cluster.v3.Cluster'))).toEqual([
      expect.stringMatching(/max_concurrent_streams: expected a whole number >= 0, got number -1/),
    ]);
  });
});
