import { useCallback } from "react";

import { Logo } from "../App";
import { ConversationList } from "../ConversationList";
import { ConversationView } from "../ConversationView";
import { useI18n } from "../i18n";
import { navigate, pathOf } from "../router";
import type { SectionProps } from "../sections";

/** The live list and, beside it, the open conversation (/console/c/<id>). */
export function Conversations({ me, rest, socket, resyncs }: SectionProps) {
  const { t } = useI18n();
  const openId = rest[0] && /^[0-9a-f-]{36}$/i.test(rest[0]) ? rest[0] : null;
  const open = useCallback((id: string | null) => {
    const from = openId;
    navigate(id ? pathOf("conversations", id) : pathOf("conversations"));
    if (!id && from) {
      // Back to the list: focus returns to the conversation we left.
      requestAnimationFrame(() => document.querySelector<HTMLElement>(`[data-conversation="${from}"]`)?.focus());
    }
  }, [openId]);

  return (
    <div className="workspace">
      <ConversationList openId={openId} onOpen={open} resyncs={resyncs} />
      <main id="main" className="detail" tabIndex={-1}>
        {openId ? (
          <ConversationView key={openId} id={openId} me={me} socket={socket} onBack={() => open(null)}
                            resyncs={resyncs} />
        ) : (
          <div className="empty-detail">
            <Logo />
            <h2>{t("conv.noneTitle")}</h2>
            <p className="muted">{t("conv.none")}</p>
          </div>
        )}
      </main>
    </div>
  );
}

/** The conversation a route opens, if any (the monitor socket subscribes to it). */
export function openConversation(section: string, rest: string[]): string | null {
  return section === "conversations" && rest[0] && /^[0-9a-f-]{36}$/i.test(rest[0]) ? rest[0] : null;
}
