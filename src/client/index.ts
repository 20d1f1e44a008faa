export {
  CheckClient,
  checkRequest,
  checkServiceDefinition,
  deniedHeaders,
  metadataOf,
  okHeaders,
  type CheckCallback,
  type CheckRequestInit,
  type DecodedCheckResponse,
  type HttpAttributes,
} from './check-client';
