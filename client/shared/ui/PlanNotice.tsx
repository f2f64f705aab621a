import { usePermissions, useSession } from '../session';
import { Notice } from './Feedback';

/**
 * Explains missing actions instead of hiding them silently: webhook settings and recovery are
 * an enterprise feature (SPEC §2). Renders nothing when the plan allows `what`.
 */
export function PlanNotice({ what }: { what: 'settings' | 'operations' }) {
  const { viewer } = useSession();
  const can = usePermissions();
  if (can.enterprise) return null;
  if (what === 'settings' && !can.roleCanManage) return null;
  if (what === 'operations' && !can.roleCanOperate) return null;
  return (
    <Notice title="Enterprise feature">
      {what === 'settings'
        ? `Creating and changing endpoints, event subscriptions and signing keys needs the enterprise plan; ${viewer.org.name} is on the ${viewer.plan} plan. Everything here stays readable.`
        : `Replaying deliveries, pausing or resuming endpoints and sending test events need the enterprise plan; ${viewer.org.name} is on the ${viewer.plan} plan.`}
    </Notice>
  );
}
