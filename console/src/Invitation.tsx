import { useEffect, useState } from "react";

import { ApiError, auth, invitationAccept, invitationPreview, type InvitationPreview } from "./api";
import { Logo, LanguageSwitch } from "./App";
import { useI18n, type Key } from "./i18n";

/** `/console/invitations/<token>`: the page an invitation email links to. */
export function Invitation({ token, onDone }: { token: string; onDone: () => void }) {
  const { t } = useI18n();
  const [preview, setPreview] = useState<InvitationPreview | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    invitationPreview(token).then(setPreview, (err) => setProblem(reason(err)));
  }, [token]);

  function reason(err: unknown): string {
    if (err instanceof ApiError) {
      if (err.code === "invitation_used") return t("invite.used");
      if (err.code === "invitation_expired") return t("invite.expired");
      if (err.status === 404) return t("invite.unknown");
    }
    return t("login.failed");
  }

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      auth.adopt(await invitationAccept(token, name.trim(), password));
      onDone();
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && (err.code === "validation_error" || err.code === "wrong_password")) {
        // The server's reasons (Django's password validators) come in the agency's language.
        setError(err.code === "wrong_password" ? t("invite.wrongPassword") : err.message);
      } else {
        setError(reason(err));
      }
    }
  }

  return (
    <main className="login">
      <div className="login-card">
        <div className="login-top">
          <Logo />
          <LanguageSwitch />
        </div>
        {problem ? (
          <>
            <h1>{t("invite.title")}</h1>
            <p className="form-error" role="alert">{problem}</p>
            <p className="muted small">{t("invite.askAgain")}</p>
          </>
        ) : !preview ? (
          <p className="muted" aria-busy="true">{t("conv.loading")}</p>
        ) : (
          <>
            <h1>{t("invite.join", { agency: preview.agency.name })}</h1>
            <p className="muted">
              {t("invite.as", { role: t(`role.${preview.role}` as Key) })}
            </p>
            <form onSubmit={submit} noValidate>
              <label>
                <span>{t("login.email")}</span>
                <input type="email" value={preview.email} readOnly autoComplete="username" />
              </label>
              {!preview.existing_account && (
                <label>
                  <span>{t("invite.name")}</span>
                  <input type="text" name="name" autoComplete="name" value={name} maxLength={150} autoFocus
                         onChange={(e) => setName(e.target.value)} />
                </label>
              )}
              <label>
                <span>{preview.existing_account ? t("invite.currentPassword") : t("invite.newPassword")}</span>
                <input type="password" name="password" required value={password}
                       autoComplete={preview.existing_account ? "current-password" : "new-password"}
                       autoFocus={preview.existing_account} onChange={(e) => setPassword(e.target.value)} />
              </label>
              {error && <p className="form-error" role="alert">{error}</p>}
              <button type="submit" className="primary wide" disabled={busy || !password}>
                {busy ? t("login.busy") : t("invite.accept")}
              </button>
            </form>
          </>
        )}
      </div>
      <p className="login-foot muted">{t("app.tagline")}</p>
    </main>
  );
}
