export { EndpointList } from './EndpointList';
export { CreateEndpoint } from './CreateEndpoint';
export { EditEndpoint } from './EditEndpoint';
export { EndpointHeader } from './EndpointHeader';
export { EndpointSettings } from './EndpointSettings';
export { EndpointStats } from './EndpointStats';
export { TestEventPanel } from './TestEventPanel';
