export { AdapterServer, type StartOptions } from './adapter-server';
export { main } from './cli';
export { compileConfig, compileConfigFile, type CompiledConfig, type CompiledRule } from './compile-config';
export { authorizationService, EXTERNAL_AUTH_PROTO, LOADER_OPTIONS, PROTO_INCLUDE_DIRS } from './protos';
