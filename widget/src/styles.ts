// Styles live inside the Shadow DOM: the host page cannot reach them, and they
// cannot reach the page. `:host { all: initial }` resets anything inherited.
export const css = `
:host{all:initial;position:fixed;z-index:2147483000;bottom:20px;right:20px;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#0f172a}
:host([data-position=left]){right:auto;left:20px}
*{box-sizing:border-box;font:inherit}
button{cursor:pointer;border:0;background:none;color:inherit}
button:focus-visible,textarea:focus-visible,a:focus-visible{outline:3px solid var(--p);outline-offset:2px}
.launcher{width:60px;height:60px;border-radius:50%;background:var(--p);color:var(--on);box-shadow:0 8px 24px rgba(15,23,42,.25);display:grid;place-items:center;transition:transform .15s}
.launcher:hover{transform:scale(1.06)}
.launcher svg{width:28px;height:28px;fill:currentColor}
.greet{position:absolute;bottom:70px;right:0;max-width:240px;background:#fff;border-radius:14px;padding:10px 14px;box-shadow:0 8px 24px rgba(15,23,42,.18);font-size:14px}
:host([data-position=left]) .greet{right:auto;left:0}
.panel{position:absolute;bottom:76px;right:0;width:380px;height:min(620px,calc(100vh - 110px));background:#fff;border-radius:18px;box-shadow:0 18px 48px rgba(15,23,42,.28);display:flex;flex-direction:column;overflow:hidden}
:host([data-position=left]) .panel{right:auto;left:0}
.panel[hidden],.greet[hidden]{display:none}
header{background:var(--p);color:var(--on);padding:14px 16px;display:flex;align-items:center;gap:10px}
header h2{margin:0;font-size:16px;font-weight:650;flex:1}
header .logo{width:28px;height:28px;border-radius:6px;object-fit:contain;background:#fff;flex:none}
header button{width:32px;height:32px;border-radius:8px;font-size:20px;line-height:1}
.bar{height:4px;background:rgba(15,23,42,.08)}
.bar i{display:block;height:100%;width:0;background:var(--p);transition:width .4s}
.banner{background:#fef3c7;color:#78350f;padding:8px 14px;font-size:13px}
.banner[hidden]{display:none}
.log{flex:1;overflow-y:auto;padding:16px;display:flex;flex-direction:column;gap:10px;background:#f8fafc}
.msg{max-width:85%;padding:10px 13px;border-radius:16px;white-space:pre-wrap;word-wrap:break-word}
.assistant,.agent{align-self:flex-start;background:#fff;border:1px solid #e2e8f0;border-bottom-left-radius:4px}
.lead{align-self:flex-end;background:var(--p);color:var(--on);border-bottom-right-radius:4px}
.lead.pending{opacity:.6}
.who{display:block;font-size:11px;font-weight:650;opacity:.7;margin-bottom:2px}
.caret::after{content:"▍";animation:blink 1s steps(2) infinite;margin-left:1px}
@keyframes blink{50%{opacity:0}}
.typing{align-self:flex-start;padding:10px 14px;background:#fff;border:1px solid #e2e8f0;border-radius:16px;letter-spacing:3px}
.notice{align-self:center;font-size:12px;color:#64748b;text-align:center}
.chips{display:flex;flex-wrap:wrap;gap:6px;padding:0 16px 10px;background:#f8fafc}
.chips button{border:1.5px solid var(--p);color:var(--p);background:#fff;border-radius:999px;padding:6px 12px;font-size:13px}
.chips button.solid{background:var(--p);color:var(--on)}
.chips a{font-size:12px;color:#475569;align-self:center}
.card{align-self:stretch;background:#fff;border:1px solid #e2e8f0;border-radius:14px;padding:12px 14px}
.card h3{margin:0 0 6px;font-size:14px}
.card dl{margin:0;display:grid;grid-template-columns:auto 1fr auto;gap:4px 8px;font-size:13px}
.card dt{color:#64748b}.card dd{margin:0}
.card .edit{color:var(--p);font-size:12px;text-decoration:underline}
.card a.pdf{display:inline-block;margin-top:6px;background:var(--p);color:var(--on);padding:8px 14px;border-radius:10px;text-decoration:none}
form{display:flex;gap:8px;padding:10px 12px;border-top:1px solid #e2e8f0;background:#fff;align-items:flex-end}
textarea{flex:1;resize:none;border:1px solid #cbd5e1;border-radius:12px;padding:9px 11px;max-height:120px;min-height:40px;color:#0f172a;background:#fff}
form button{height:40px;padding:0 14px;border-radius:12px;background:var(--p);color:var(--on);font-weight:600}
form button.stop{background:#e2e8f0;color:#0f172a}
form button[hidden]{display:none}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:640px){:host{bottom:12px;right:12px}
.panel{position:fixed;inset:0;width:auto;height:auto;border-radius:0}
.panel:not([hidden])~.launcher{display:none}
form button{padding:0 10px}}
`;
