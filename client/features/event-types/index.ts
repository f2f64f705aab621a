export { EventTypeCatalog } from './EventTypeCatalog';
