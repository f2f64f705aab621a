export { DeliveryList } from './DeliveryList';
export { DeliveryDetail } from './DeliveryDetail';
