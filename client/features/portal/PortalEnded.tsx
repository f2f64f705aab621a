/** What a portal page shows instead of a login page: the session is over (or never began). */
export function PortalEnded({ message }: { message: string }) {
  return (
    <main className="login">
      <div className="login__card card portal-ended" role="alert" data-testid="portal-ended">
        <h1>Session ended</h1>
        <p>{message}</p>
      </div>
    </main>
  );
}
