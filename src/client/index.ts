export {
  CheckClient,
  checkRequest,
  checkServiceDefinition,
  deniedHeaders,
  okHeaders,
  type CheckCallback,
  type CheckRequestInit,
  type DecodedCheckResponse,
  type HttpAttributes,
} from './check-client';
