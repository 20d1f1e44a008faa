/**
 * One Check: the gRPC handler (check-handler) and the pipeline (run-check), whose steps are each
 * a named function in its own file; the pure config compiler (compile-config) and the config a
 * check runs against (serving-config). Imports auth-client, observability, translate, matcher
 * and config; never runtime.
 */
export { createCheckHandler, MAX_LOGGED_REQUEST_ID, type CheckHandlerDeps } from './check-handler';
export { explainHeaders, formatHeaderPlan, type HeaderPlan } from './explain-headers';
export { compileConfig, compileConfigFile, readConfigText, type CompiledConfig, type CompiledRule } from './compile-config';
export { runCheck, type CheckResult } from './run-check';
export { selectRules } from './select-rules';
export { servingConfig, type ServingConfig, type ServingRule } from './serving-config';
export { vouchedHeaders } from './vouched-headers';
