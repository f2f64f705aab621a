export { EventPage } from './EventPage';
export { EventSearch } from './EventSearch';
export { SearchPage } from './SearchPage';
