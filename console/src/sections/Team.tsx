/** /console/team: members and their roles, invitations by email (CONTRACT
 * §5.1). Admins see the team; only owners change it, so admins get the
 * controls disabled with the reason. */
import { useEffect, useRef, useState } from "react";

import { atLeast, type Role } from "../api";
import { useI18n, type Key } from "../i18n";
import type { SectionProps } from "../sections";
import * as ss from "./selfservice.api";
import { Confirm, describe, Field, fieldError, FormStatus, formatDate, useSubmit } from "./SelfServiceForms";

const ROLES: Role[] = ["owner", "admin", "agent", "viewer"];
const ROLE_HINT: Record<Role, Key> = {
  owner: "team.hintOwner", admin: "team.hintAdmin", agent: "team.hintAgent", viewer: "team.hintViewer",
};

export function Team({ me }: SectionProps) {
  const { t, lang } = useI18n();
  const owner = atLeast(me.role, "owner");
  const [members, setMembers] = useState<ss.Member[] | null>(null);
  const [invitations, setInvitations] = useState<ss.Invitation[]>([]);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("agent");
  const [removing, setRemoving] = useState<ss.Member | null>(null);
  const [rowError, setRowError] = useState<{ id: string; err: unknown } | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const form = useSubmit();
  const reasonId = "team-owner-only";

  const loads = useRef(0);
  function load() {
    // Only the latest answer counts: a slow first load must not hide an invitation just sent.
    const mine = ++loads.current;
    return ss.listMembers().then((r) => {
      if (mine !== loads.current) return;
      setMembers(r.results);
      setInvitations(r.invitations);
    }, setLoadError);
  }
  useEffect(() => { void load(); }, []); // eslint-disable-line react-hooks/exhaustive-deps

  async function sendInvite(event: React.FormEvent) {
    event.preventDefault();
    const created = await form.run(() => ss.invite(email.trim(), role));
    if (created) {
      setEmail("");
      await load();
    }
  }

  async function act(id: string, action: () => Promise<unknown>) {
    setRowError(null);
    try {
      await action();
      await load();
    } catch (err) {
      setRowError({ id, err });
      await load();
    }
  }

  const rowMessage = (err: unknown) =>
    (err as { code?: string }).code === "last_owner" ? t("team.lastOwner") : describe(t, err);
  const disabledProps = owner ? {} : { disabled: true, "aria-describedby": reasonId };
  return (
    <main id="main" className="page team" tabIndex={-1}>
      <div className="page-inner">
        <div className="page-head">
          <div>
            <h1>{t("team.title")}</h1>
            <p className="muted">{t("team.subtitle")}</p>
          </div>
        </div>
        {!owner && <p className="notice" id={reasonId} role="note">{t("team.ownerOnly")}</p>}
        {loadError !== null && <p className="form-error" role="alert">{describe(t, loadError)}</p>}

        <section className="card" aria-labelledby="h-invite">
          <h2 id="h-invite">{t("team.invite")}</h2>
          <form className="inline-form invite" onSubmit={sendInvite} noValidate>
            <Field label={t("team.email")} error={fieldError(form.fields, "email")}>
              {(p) => <input {...p} type="email" value={email} autoComplete="off" placeholder={t("team.emailPlaceholder")}
                             onChange={(e) => setEmail(e.target.value)} {...disabledProps} />}
            </Field>
            <Field label={t("team.role")} hint={t(ROLE_HINT[role])} error={fieldError(form.fields, "role")}>
              {(p) => (
                <select {...p} value={role} onChange={(e) => setRole(e.target.value as Role)} {...disabledProps}>
                  {ROLES.map((r) => <option key={r} value={r}>{t(`role.${r}` as Key)}</option>)}
                </select>
              )}
            </Field>
            <button type="submit" className="primary" {...disabledProps} disabled={!owner || form.busy || !email.trim()}>
              {t("team.send")}
            </button>
          </form>
          <FormStatus error={form.fields ? null : form.error} done={form.done} doneText={t("team.sent")} />
        </section>

        <section className="card" aria-labelledby="h-pending">
          <h2 id="h-pending">{t("team.pending")}</h2>
          {invitations.length === 0 ? <p className="muted small">{t("team.noPending")}</p> : (
            <ul className="rows" aria-label={t("team.pending")}>
              {invitations.map((inv) => (
                <li key={inv.id} data-invitation={inv.email}>
                  <div className="row-main">
                    <strong>{inv.email}</strong>
                    <span className="small"><span className="pill">{t(`role.${inv.role}` as Key)}</span>
                      <span className="muted">{t("team.expires", { date: formatDate(lang, inv.expires, true) })}</span></span>
                    {rowError?.id === inv.id && <span className="field-error">{rowMessage(rowError.err)}</span>}
                  </div>
                  <div className="row-actions">
                    <button type="button" className="ghost small danger" {...disabledProps}
                            aria-label={t("team.withdrawNamed", { email: inv.email })}
                            onClick={() => void act(inv.id, () => ss.withdrawInvitation(inv.id))}>{t("team.withdraw")}</button>
                  </div>
                </li>
              ))}
            </ul>
          )}
        </section>

        <section className="card" aria-labelledby="h-members">
          <h2 id="h-members">{t("team.members")}</h2>
          {members === null ? <p className="muted small">{t("ss.loading")}</p> : (
            <table className="members">
              <thead>
                <tr><th scope="col">{t("team.person")}</th><th scope="col">{t("team.role")}</th>
                  <th scope="col">{t("team.since")}</th><th scope="col"><span className="sr-only">{t("team.actions")}</span></th></tr>
              </thead>
              <tbody>
                {members.map((m) => {
                  const self = m.user.id === me.user.id;
                  return (
                    <tr key={m.id} data-member={m.user.email}>
                      <td>
                        <strong>{m.user.name || m.user.email}</strong>{self && <span className="tag">{t("team.you")}</span>}
                        <span className="muted small block">{m.user.email}</span>
                        {rowError?.id === m.id && <span className="field-error block" role="alert">{rowMessage(rowError.err)}</span>}
                      </td>
                      <td>
                        <select aria-label={t("team.roleOf", { name: m.user.name || m.user.email })} value={m.role}
                                {...disabledProps}
                                onChange={(e) => void act(m.id, () => ss.changeRole(m.id, e.target.value as Role))}>
                          {ROLES.map((r) => <option key={r} value={r}>{t(`role.${r}` as Key)}</option>)}
                        </select>
                      </td>
                      <td className="muted small">{formatDate(lang, m.created)}</td>
                      <td className="end">
                        <button type="button" className="ghost small danger" {...disabledProps}
                                aria-label={t(self ? "team.leave" : "team.removeNamed", { name: m.user.name || m.user.email })}
                                onClick={() => setRemoving(m)}>{t(self ? "team.leaveShort" : "team.remove")}</button>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </section>
      </div>
      <Confirm open={removing !== null}
               title={t("team.removeTitle", { name: removing?.user.name || removing?.user.email || "" })}
               body={<p>{t("team.removeBody")}</p>} confirm={t("team.remove")}
               onCancel={() => setRemoving(null)}
               onConfirm={() => { const m = removing; setRemoving(null); if (m) void act(m.id, () => ss.removeMember(m.id)); }} />
    </main>
  );
}
