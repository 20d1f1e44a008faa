export { AdapterServer, main, type StartOptions } from './runtime';
export { compileConfig, compileConfigFile, type CompiledConfig, type CompiledRule } from './check';
export { authorizationService, EXTERNAL_AUTH_PROTO, LOADER_OPTIONS, PROTO_INCLUDE_DIRS } from './protos';
