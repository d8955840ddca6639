"""Per-sector strategy templates, in Spanish, versioned.

A template is the agency's playbook for a sector: which channels usually pay
off and in what proportion, what a reasonable 90-day objective looks like
(with benchmark figures from Spanish SME campaigns), which KPIs to watch and
how the first quarter unfolds. The offline writer fills it in from the lead's
answers; the LLM receives it as guidance. `TEMPLATE_VERSION` is stored with
every strategy so a document can be traced back to the playbook that made it:
bump it whenever a figure or a text here changes.
"""

from __future__ import annotations

from dataclasses import dataclass

TEMPLATE_VERSION = "2025.1"


@dataclass(frozen=True, slots=True)
class Channel:
    key: str
    label: str
    # Lower-case fragments that identify the channel in the agency's documents
    # and service names (used to cite knowledge and to name the next steps).
    keywords: tuple[str, ...]
    paid: bool
    default_service: str


CHANNELS: dict[str, Channel] = {
    channel.key: channel
    for channel in (
        Channel("sem", "Google Ads (búsqueda)", ("google ads", "sem", "ppc", "adwords"), True,
                "Gestión de campañas de Google Ads"),
        Channel("meta_ads", "Publicidad en Meta (Instagram y Facebook)",
                ("meta ads", "facebook ads", "instagram ads", "publicidad en redes", "social ads"), True,
                "Gestión de campañas en Meta Ads"),
        Channel("seo", "SEO y posicionamiento orgánico", ("seo", "posicionamiento"), False,
                "Auditoría y posicionamiento SEO"),
        Channel("google_business", "SEO local y Perfil de Empresa de Google",
                ("seo local", "google business", "perfil de empresa", "google maps", "reseñas"), False,
                "SEO local y gestión de reseñas"),
        Channel("redes_sociales", "Redes sociales orgánicas",
                ("redes sociales", "community manager", "instagram", "tiktok"), False,
                "Gestión de redes sociales"),
        Channel("email", "Email marketing y automatización",
                ("email", "newsletter", "automatización", "mailing"), False,
                "Email marketing y automatizaciones"),
        Channel("contenidos", "Marketing de contenidos", ("contenido", "blog", "copywriting"), False,
                "Estrategia y redacción de contenidos"),
        Channel("linkedin", "LinkedIn (Ads y social selling)", ("linkedin",), True,
                "Campañas de LinkedIn y social selling"),
    )
}


@dataclass(frozen=True, slots=True)
class ChannelWeight:
    key: str
    weight: float
    rationale: str


@dataclass(frozen=True, slots=True)
class ObjectiveSpec:
    title: str
    metric: str
    unit: str
    # A fixed target, or, when `per_1000_eur` is set and there is a budget,
    # target = budget / 1000 × per_1000_eur (benchmark cost per result), never
    # below `target`.
    target: float
    per_1000_eur: float | None = None
    deadline_days: int = 90


@dataclass(frozen=True, slots=True)
class KpiSpec:
    name: str
    target: float
    unit: str
    frequency: str


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    weeks: str
    actions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SectorTemplate:
    key: str
    label: str
    version: str
    # "X opera en {sector_phrase}": how the diagnosis names the market.
    sector_phrase: str
    customer_noun: str
    channels: tuple[ChannelWeight, ...]
    # Keyed by the flow's goal values; "default" is used when the lead gave none.
    objectives: dict[str, ObjectiveSpec]
    kpis: tuple[KpiSpec, ...]
    strengths: tuple[str, ...]
    opportunities: tuple[str, ...]
    segments: tuple[str, ...]
    phases: tuple[Phase, ...]
    # Section titles that speak the sector's language (the document's headings).
    titles: dict[str, str]


GOAL_LABELS: dict[str, str] = {
    "captar_leads": "conseguir clientes potenciales",
    "vender_online": "vender más online",
    "notoriedad": "dar a conocer la marca",
    "fidelizar": "fidelizar clientes",
    "reservas": "conseguir más reservas o citas",
}

# Channels that serve each goal best: the offline writer leans the split towards them.
GOAL_CHANNELS: dict[str, tuple[str, ...]] = {
    "captar_leads": ("sem", "meta_ads", "linkedin", "google_business"),
    "vender_online": ("sem", "meta_ads", "email"),
    "notoriedad": ("meta_ads", "redes_sociales", "contenidos"),
    "fidelizar": ("email", "redes_sociales"),
    "reservas": ("google_business", "sem", "meta_ads"),
}

_DEFAULT_TITLES: dict[str, str] = {
    "executive_summary": "Resumen ejecutivo",
    "diagnosis": "Diagnóstico",
    "objectives": "Objetivos SMART",
    "audience": "Público objetivo",
    "channel_plan": "Plan de canales y presupuesto",
    "plan_90_days": "Plan de acción a 90 días",
    "kpis": "KPIs y seguimiento",
    "next_steps": "Próximos pasos",
}


def _titles(**overrides: str) -> dict[str, str]:
    return {**_DEFAULT_TITLES, **overrides}


def _phases(first: tuple[str, ...], second: tuple[str, ...], third: tuple[str, ...]) -> tuple[Phase, ...]:
    return (
        Phase("Fase 1 · Cimientos", "Semanas 1-4", first),
        Phase("Fase 2 · Lanzamiento", "Semanas 5-8", second),
        Phase("Fase 3 · Optimización y escala", "Semanas 9-13", third),
    )


_ECOMMERCE = SectorTemplate(
    key="ecommerce",
    label="Comercio electrónico",
    version=TEMPLATE_VERSION,
    sector_phrase="el comercio electrónico",
    customer_noun="compradores",
    channels=(
        ChannelWeight("sem", 0.30, "Google Shopping y Performance Max capturan a quien ya busca tus productos, "
                                   "con el retorno más medible del mix."),
        ChannelWeight("meta_ads", 0.28, "Instagram y Facebook generan demanda con creatividades de producto "
                                        "y recuperan carritos abandonados con retargeting dinámico."),
        ChannelWeight("email", 0.16, "Las automatizaciones (bienvenida, carrito abandonado, recompra) "
                                     "suelen aportar entre el 20 % y el 30 % de la facturación online."),
        ChannelWeight("seo", 0.14, "Fichas de categoría y producto optimizadas reducen la dependencia "
                                   "de la publicidad a medio plazo."),
        ChannelWeight("redes_sociales", 0.12, "Contenido de marca, reseñas y colaboraciones con creadores "
                                              "alimentan la confianza antes de la compra."),
    ),
    objectives={
        "vender_online": ObjectiveSpec("Aumentar las ventas online atribuidas a marketing",
                                       "Facturación mensual atribuida", "€", 1500, per_1000_eur=4000),
        "captar_leads": ObjectiveSpec("Ampliar la base de suscriptores", "Nuevos suscriptores al mes",
                                      "suscriptores", 150, per_1000_eur=250),
        "notoriedad": ObjectiveSpec("Dar a conocer la tienda a nuevo público", "Alcance mensual",
                                    "personas", 20000, per_1000_eur=60000),
        "fidelizar": ObjectiveSpec("Elevar la tasa de recompra", "Clientes que repiten en 90 días", "%", 25),
        "reservas": ObjectiveSpec("Mejorar la conversión de la tienda", "Tasa de conversión", "%", 1.8),
        "default": ObjectiveSpec("Aumentar las ventas online atribuidas a marketing",
                                 "Facturación mensual atribuida", "€", 1500, per_1000_eur=4000),
    },
    kpis=(
        KpiSpec("ROAS (retorno de la inversión publicitaria)", 4, "x", "Semanal"),
        KpiSpec("Tasa de conversión de la tienda", 1.8, "%", "Semanal"),
        KpiSpec("Ticket medio", 55, "€", "Mensual"),
        KpiSpec("Coste por adquisición (CPA)", 18, "€", "Semanal"),
        KpiSpec("Ingresos por email sobre el total", 20, "%", "Mensual"),
    ),
    strengths=(
        "Un negocio online deja rastro de cada visita y cada venta: todo el plan se puede medir.",
        "El catálogo permite campañas dinámicas de producto sin crear anuncios uno a uno.",
    ),
    opportunities=(
        "Recuperar carritos abandonados con email y retargeting (el 70 % de los carritos no se completa).",
        "Optimizar las fichas de producto con mejores fotos, reseñas y envío claro para subir la conversión.",
        "Activar la recompra con automatizaciones postventa.",
    ),
    segments=(
        "Compradores que ya buscan tu tipo de producto en Google",
        "Público afín en redes que aún no conoce la marca",
        "Clientes actuales con potencial de recompra",
    ),
    phases=_phases(
        ("Auditar la analítica: GA4, píxel de Meta y conversiones con valor de pedido.",
         "Revisar el feed de productos y dar de alta Google Merchant Center.",
         "Mejorar las 10 fichas de producto más visitadas (fotos, textos, reseñas).",
         "Configurar las automatizaciones de bienvenida y carrito abandonado."),
        ("Lanzar Performance Max / Shopping con la estructura de catálogo por margen.",
         "Lanzar campañas de Meta de prospección con 3-5 creatividades de producto.",
         "Activar el retargeting dinámico de visitantes y carritos.",
         "Enviar la primera campaña de email con una oferta de bienvenida."),
        ("Reasignar presupuesto a los productos y audiencias con mejor ROAS.",
         "Probar nuevas creatividades cada dos semanas (test A/B).",
         "Lanzar el flujo de recompra y la solicitud de reseñas.",
         "Informe trimestral con aprendizajes y plan del siguiente trimestre."),
    ),
    titles=_titles(audience="Tus compradores", channel_plan="Canales de venta y presupuesto"),
)

_SERVICIOS_LOCALES = SectorTemplate(
    key="servicios_locales",
    label="Servicios locales",
    version=TEMPLATE_VERSION,
    sector_phrase="los servicios locales",
    customer_noun="clientes de la zona",
    channels=(
        ChannelWeight("sem", 0.32, "Quien busca «fontanero cerca de mí» o «academia en mi barrio» necesita "
                                   "el servicio ya: Google Ads te pone delante en ese momento."),
        ChannelWeight("google_business", 0.24, "El Perfil de Empresa y las reseñas deciden la mayoría de "
                                               "las llamadas locales desde Google Maps."),
        ChannelWeight("meta_ads", 0.18, "Anuncios segmentados por código postal dan a conocer el negocio "
                                        "a los vecinos con ofertas concretas."),
        ChannelWeight("seo", 0.14, "Páginas por servicio y por zona captan búsquedas sin pagar por clic."),
        ChannelWeight("redes_sociales", 0.12, "Trabajos reales, antes y después y testimonios generan "
                                              "la confianza que un servicio local necesita."),
    ),
    objectives={
        "captar_leads": ObjectiveSpec("Conseguir más solicitudes de presupuesto",
                                      "Solicitudes de presupuesto al mes", "solicitudes", 15, per_1000_eur=40),
        "reservas": ObjectiveSpec("Llenar la agenda de citas", "Citas reservadas al mes", "citas", 20,
                                  per_1000_eur=45),
        "notoriedad": ObjectiveSpec("Ser el referente de la zona", "Reseñas de Google nuevas",
                                    "reseñas", 15),
        "fidelizar": ObjectiveSpec("Que los clientes vuelvan y te recomienden", "Clientes recurrentes",
                                   "%", 30),
        "vender_online": ObjectiveSpec("Vender bonos y servicios por la web", "Ventas online al mes",
                                       "ventas", 10, per_1000_eur=25),
        "default": ObjectiveSpec("Conseguir más solicitudes de presupuesto",
                                 "Solicitudes de presupuesto al mes", "solicitudes", 15, per_1000_eur=40),
    },
    kpis=(
        KpiSpec("Coste por solicitud (CPL)", 25, "€", "Semanal"),
        KpiSpec("Llamadas desde Google", 40, "llamadas/mes", "Semanal"),
        KpiSpec("Valoración media en Google", 4.6, "estrellas", "Mensual"),
        KpiSpec("Tasa de cierre de presupuestos", 30, "%", "Mensual"),
        KpiSpec("Tiempo de respuesta a un contacto", 2, "horas", "Semanal"),
    ),
    strengths=(
        "La cercanía es una ventaja frente a las grandes cadenas: se puede comunicar con nombre y cara.",
        "La búsqueda local tiene intención de compra inmediata.",
    ),
    opportunities=(
        "Completar y activar el Perfil de Empresa de Google (fotos, servicios, publicaciones semanales).",
        "Pedir reseñas de forma sistemática tras cada trabajo.",
        "Responder en menos de dos horas: la mitad de los clientes contrata al primero que contesta.",
    ),
    segments=(
        "Personas que necesitan el servicio con urgencia en tu zona",
        "Vecinos que planifican y comparan presupuestos",
        "Clientes anteriores que pueden repetir o recomendarte",
    ),
    phases=_phases(
        ("Optimizar el Perfil de Empresa de Google: categorías, servicios, fotos y horario.",
         "Crear páginas de servicio por zona con llamada a la acción clara.",
         "Instalar seguimiento de llamadas y formularios.",
         "Definir el proceso para pedir reseñas tras cada servicio."),
        ("Lanzar Google Ads por servicio y radio geográfico con extensiones de llamada.",
         "Activar anuncios en Meta por código postal con una oferta de entrada.",
         "Publicar dos casos reales por semana en redes.",
         "Responder a todas las reseñas y preguntas del perfil."),
        ("Concentrar la inversión en las zonas y servicios con menor coste por solicitud.",
         "Activar remarketing a quien pidió presupuesto y no cerró.",
         "Lanzar un programa de recomendación con incentivo.",
         "Informe trimestral con coste por cliente y plan de escala."),
    ),
    titles=_titles(audience="Tus clientes de la zona", channel_plan="Canales locales y presupuesto"),
)

_B2B = SectorTemplate(
    key="b2b",
    label="Empresas (B2B)",
    version=TEMPLATE_VERSION,
    sector_phrase="el mercado B2B",
    customer_noun="empresas y decisores",
    channels=(
        ChannelWeight("linkedin", 0.28, "LinkedIn permite segmentar por cargo, sector y tamaño de empresa: "
                                        "llega a quien decide la compra."),
        ChannelWeight("sem", 0.24, "Las búsquedas de tu solución con intención comercial son los leads "
                                   "más baratos de cerrar."),
        ChannelWeight("contenidos", 0.20, "Guías, casos de éxito y webinars educan en un ciclo de venta largo "
                                          "y alimentan al equipo comercial."),
        ChannelWeight("seo", 0.16, "Posicionar por problemas que resuelves atrae demanda constante "
                                   "sin coste por clic."),
        ChannelWeight("email", 0.12, "Secuencias de nutrición mantienen vivos los leads hasta que están "
                                     "listos para hablar con ventas."),
    ),
    objectives={
        "captar_leads": ObjectiveSpec("Generar leads cualificados para ventas",
                                      "Leads cualificados (MQL) al mes", "MQL", 8, per_1000_eur=9),
        "vender_online": ObjectiveSpec("Convertir leads en oportunidades de venta",
                                       "Oportunidades comerciales al mes", "oportunidades", 4,
                                       per_1000_eur=3),
        "notoriedad": ObjectiveSpec("Posicionar la marca como referente del sector",
                                    "Impresiones en el público objetivo", "impresiones", 50000,
                                    per_1000_eur=40000),
        "fidelizar": ObjectiveSpec("Crecer en las cuentas actuales", "Ingresos de clientes actuales",
                                   "% de crecimiento", 10),
        "reservas": ObjectiveSpec("Agendar más reuniones comerciales", "Reuniones al mes", "reuniones", 6,
                                  per_1000_eur=5),
        "default": ObjectiveSpec("Generar leads cualificados para ventas",
                                 "Leads cualificados (MQL) al mes", "MQL", 8, per_1000_eur=9),
    },
    kpis=(
        KpiSpec("Coste por lead cualificado (CPL)", 110, "€", "Mensual"),
        KpiSpec("Tasa de conversión MQL → SQL", 25, "%", "Mensual"),
        KpiSpec("Tasa de conversión de la landing", 4, "%", "Semanal"),
        KpiSpec("Reuniones comerciales agendadas", 6, "reuniones/mes", "Semanal"),
        KpiSpec("Apertura de las secuencias de email", 35, "%", "Mensual"),
    ),
    strengths=(
        "El valor de cada cliente B2B justifica una inversión por lead más alta que en consumo.",
        "El conocimiento técnico del equipo es materia prima para contenido de autoridad.",
    ),
    opportunities=(
        "Definir el perfil de cliente ideal (ICP) y alinear marketing y ventas en qué es un lead cualificado.",
        "Convertir casos de éxito en contenido descargable que capte datos de contacto.",
        "Conectar el CRM con las campañas para medir el coste por oportunidad, no solo por lead.",
    ),
    segments=(
        "Decisores (dirección, gerencia) de empresas del perfil ideal",
        "Responsables técnicos que evalúan y recomiendan la solución",
        "Clientes actuales con potencial de venta cruzada",
    ),
    phases=_phases(
        ("Taller de perfil de cliente ideal (ICP) y propuesta de valor con ventas.",
         "Crear una landing por oferta y un contenido descargable (guía o caso de éxito).",
         "Conectar formularios, CRM y analítica de conversiones.",
         "Preparar la secuencia de nutrición por email."),
        ("Lanzar campañas de LinkedIn por cargo y sector con el contenido descargable.",
         "Lanzar Google Ads en búsquedas de solución con intención comercial.",
         "Publicar dos artículos SEO al mes sobre problemas del cliente.",
         "Acordar con ventas el tiempo máximo de respuesta a un MQL."),
        ("Optimizar por coste por oportunidad, no por clic.",
         "Organizar un webinar o demo grupal con los leads nutridos.",
         "Activar campañas a cuentas objetivo (ABM) con la lista de ventas.",
         "Informe trimestral con el embudo completo y el plan de escala."),
    ),
    titles=_titles(audience="Decisores y cuentas objetivo", channel_plan="Canales de captación B2B y presupuesto"),
)

_HOSTELERIA = SectorTemplate(
    key="hosteleria",
    label="Hostelería",
    version=TEMPLATE_VERSION,
    sector_phrase="la hostelería",
    customer_noun="comensales y huéspedes",
    channels=(
        ChannelWeight("meta_ads", 0.30, "Instagram es donde se elige a dónde ir a comer o dormir: anuncios "
                                        "con platos y espacios reales llenan mesas."),
        ChannelWeight("google_business", 0.26, "Las reseñas y la ficha de Google Maps deciden la mayoría "
                                               "de las visitas de quien no te conoce."),
        ChannelWeight("redes_sociales", 0.18, "Contenido diario del local (novedades, equipo, eventos) "
                                              "mantiene a la clientela atenta."),
        ChannelWeight("sem", 0.14, "Captar búsquedas como «restaurante para grupos» o «hotel con encanto» "
                                   "en tu zona con reserva directa."),
        ChannelWeight("email", 0.12, "Una base de clientes propia permite llenar días flojos sin "
                                     "depender de plataformas con comisión."),
    ),
    objectives={
        "reservas": ObjectiveSpec("Aumentar las reservas directas", "Reservas directas al mes", "reservas", 80,
                                  per_1000_eur=160),
        "captar_leads": ObjectiveSpec("Captar eventos y grupos", "Solicitudes de eventos al mes",
                                      "solicitudes", 6, per_1000_eur=10),
        "notoriedad": ObjectiveSpec("Ser el sitio recomendado de la zona", "Reseñas nuevas en Google",
                                    "reseñas", 30),
        "fidelizar": ObjectiveSpec("Que los clientes vuelvan más", "Clientes en la base de datos", "contactos",
                                   300, per_1000_eur=400),
        "vender_online": ObjectiveSpec("Vender más por canales propios", "Pedidos o bonos online al mes",
                                       "pedidos", 40, per_1000_eur=80),
        "default": ObjectiveSpec("Aumentar las reservas directas", "Reservas directas al mes", "reservas", 80,
                                 per_1000_eur=160),
    },
    kpis=(
        KpiSpec("Coste por reserva", 6, "€", "Semanal"),
        KpiSpec("Valoración media en Google", 4.5, "estrellas", "Mensual"),
        KpiSpec("Ocupación en días flojos", 60, "%", "Semanal"),
        KpiSpec("Reservas directas sobre el total", 50, "%", "Mensual"),
        KpiSpec("Crecimiento de seguidores en Instagram", 8, "%/mes", "Mensual"),
    ),
    strengths=(
        "La hostelería es visual: cada plato, cóctel o habitación es contenido.",
        "La experiencia en el local genera recomendación boca a boca que el marketing puede amplificar.",
    ),
    opportunities=(
        "Reducir la dependencia de plataformas con comisión impulsando la reserva directa.",
        "Llenar los días de menor ocupación con campañas y ofertas específicas.",
        "Construir una base de datos propia de clientes (wifi, reservas, fidelización).",
    ),
    segments=(
        "Público local que busca dónde comer o salir esta semana",
        "Turistas y visitantes que planifican desde Google Maps e Instagram",
        "Empresas y grupos para comidas, celebraciones y eventos",
    ),
    phases=_phases(
        ("Optimizar la ficha de Google: fotos profesionales, carta, horarios y enlace de reserva.",
         "Configurar la reserva directa en la web y medirla como conversión.",
         "Sesión de fotos y vídeo de platos, espacios y equipo.",
         "Definir la captación de datos de clientes con consentimiento."),
        ("Lanzar anuncios en Instagram y Facebook por radio geográfico con reserva directa.",
         "Publicar 3-4 veces por semana y stories diarias.",
         "Campaña para los días flojos con una propuesta concreta (menú, evento, tarifa).",
         "Responder a todas las reseñas en menos de 48 horas."),
        ("Reforzar las creatividades y horarios con más reservas.",
         "Primer email a la base de clientes con una novedad o evento.",
         "Colaborar con creadores locales o guías gastronómicas.",
         "Informe trimestral con coste por reserva y plan de temporada."),
    ),
    titles=_titles(audience="Tus comensales y huéspedes", channel_plan="Canales para llenar mesas y presupuesto"),
)

_SALUD_BELLEZA = SectorTemplate(
    key="salud_belleza",
    label="Salud y belleza",
    version=TEMPLATE_VERSION,
    sector_phrase="el sector de la salud y la belleza",
    customer_noun="pacientes y clientes",
    channels=(
        ChannelWeight("meta_ads", 0.28, "Los tratamientos se deciden por lo que se ve: resultados, equipo y "
                                        "espacios en Instagram generan citas."),
        ChannelWeight("google_business", 0.24, "En salud y estética las reseñas pesan más que en ningún otro "
                                               "sector: la ficha de Google es el primer filtro."),
        ChannelWeight("sem", 0.22, "Quien busca un tratamiento concreto en su ciudad está listo para pedir "
                                   "cita: Google Ads te pone el primero."),
        ChannelWeight("redes_sociales", 0.14, "Divulgación y consejos del equipo construyen confianza y "
                                              "autoridad profesional."),
        ChannelWeight("email", 0.12, "Recordatorios de revisión y bonos mantienen la agenda llena con "
                                     "los pacientes de siempre."),
    ),
    objectives={
        "reservas": ObjectiveSpec("Llenar la agenda de citas", "Citas nuevas al mes", "citas", 30,
                                  per_1000_eur=50),
        "captar_leads": ObjectiveSpec("Conseguir más primeras visitas", "Solicitudes de primera visita al mes",
                                      "solicitudes", 25, per_1000_eur=45),
        "notoriedad": ObjectiveSpec("Ser la referencia de confianza de la zona", "Reseñas nuevas en Google",
                                    "reseñas", 20),
        "fidelizar": ObjectiveSpec("Aumentar las revisiones y tratamientos recurrentes",
                                   "Pacientes que repiten en 90 días", "%", 35),
        "vender_online": ObjectiveSpec("Vender bonos y productos online", "Ventas online al mes", "ventas",
                                       15, per_1000_eur=30),
        "default": ObjectiveSpec("Llenar la agenda de citas", "Citas nuevas al mes", "citas", 30,
                                 per_1000_eur=50),
    },
    kpis=(
        KpiSpec("Coste por cita nueva", 22, "€", "Semanal"),
        KpiSpec("Valoración media en Google", 4.7, "estrellas", "Mensual"),
        KpiSpec("Ocupación de la agenda", 85, "%", "Semanal"),
        KpiSpec("Tasa de asistencia a la primera cita", 90, "%", "Mensual"),
        KpiSpec("Pacientes recurrentes", 35, "%", "Mensual"),
    ),
    strengths=(
        "La confianza en un profesional se construye con caras y nombres: el equipo es la marca.",
        "Los tratamientos tienen un ciclo de repetición natural que facilita la fidelización.",
    ),
    opportunities=(
        "Sistematizar la petición de reseñas tras cada visita.",
        "Crear páginas por tratamiento con precios orientativos y reserva online.",
        "Automatizar recordatorios de revisión para reducir huecos en la agenda.",
    ),
    segments=(
        "Personas que buscan un tratamiento concreto cerca de casa o del trabajo",
        "Público interesado en bienestar y cuidado personal en redes",
        "Pacientes actuales con tratamientos o revisiones pendientes",
    ),
    phases=_phases(
        ("Optimizar la ficha de Google con tratamientos, fotos del centro y reserva online.",
         "Crear o mejorar las páginas de los 3 tratamientos con más margen.",
         "Medir reservas, llamadas y WhatsApp como conversiones.",
         "Revisar la normativa de publicidad sanitaria aplicable a los anuncios."),
        ("Lanzar Google Ads por tratamiento y zona.",
         "Lanzar campañas en Meta con testimonios y el equipo (siempre con consentimiento).",
         "Publicar contenido divulgativo dos veces por semana.",
         "Activar los recordatorios de revisión por email o SMS."),
        ("Priorizar los tratamientos con menor coste por cita y mayor margen.",
         "Lanzar un bono o plan de fidelización para pacientes actuales.",
         "Campaña estacional (verano, bodas, vuelta al cole) según el calendario.",
         "Informe trimestral con coste por paciente y plan de escala."),
    ),
    titles=_titles(audience="Tus pacientes y clientes", channel_plan="Canales para llenar la agenda y presupuesto"),
)

_GENERIC = SectorTemplate(
    key="generic",
    label="Tu negocio",
    version=TEMPLATE_VERSION,
    sector_phrase="un mercado competitivo",
    customer_noun="clientes",
    channels=(
        ChannelWeight("sem", 0.28, "Google Ads capta la demanda que ya existe y da resultados medibles "
                                   "desde el primer mes."),
        ChannelWeight("meta_ads", 0.24, "Instagram y Facebook permiten dar a conocer la marca a un público "
                                        "muy segmentado a buen precio."),
        ChannelWeight("seo", 0.18, "El posicionamiento orgánico construye un canal de captación estable "
                                   "que no depende del presupuesto publicitario."),
        ChannelWeight("redes_sociales", 0.15, "Una presencia constante en redes genera confianza y "
                                              "comunidad alrededor de la marca."),
        ChannelWeight("email", 0.15, "El email convierte contactos en clientes y clientes en recurrentes "
                                     "con un coste mínimo."),
    ),
    objectives={
        "captar_leads": ObjectiveSpec("Conseguir más clientes potenciales", "Contactos cualificados al mes",
                                      "contactos", 15, per_1000_eur=30),
        "vender_online": ObjectiveSpec("Aumentar las ventas online", "Ventas online al mes", "ventas", 20,
                                       per_1000_eur=35),
        "notoriedad": ObjectiveSpec("Dar a conocer la marca", "Alcance mensual", "personas", 20000,
                                    per_1000_eur=50000),
        "fidelizar": ObjectiveSpec("Fidelizar a los clientes actuales", "Clientes recurrentes", "%", 25),
        "reservas": ObjectiveSpec("Conseguir más reservas o citas", "Reservas al mes", "reservas", 20,
                                  per_1000_eur=40),
        "default": ObjectiveSpec("Conseguir más clientes potenciales", "Contactos cualificados al mes",
                                 "contactos", 15, per_1000_eur=30),
    },
    kpis=(
        KpiSpec("Coste por contacto (CPL)", 35, "€", "Semanal"),
        KpiSpec("Tasa de conversión de la web", 3, "%", "Semanal"),
        KpiSpec("Tráfico orgánico", 15, "% de crecimiento", "Mensual"),
        KpiSpec("Interacción en redes sociales", 3, "%", "Mensual"),
        KpiSpec("Apertura de emails", 30, "%", "Mensual"),
    ),
    strengths=(
        "Partir de objetivos claros permite medir cada euro invertido desde el primer día.",
        "Un negocio que conoce a su cliente puede comunicar con mucha más precisión que la competencia.",
    ),
    opportunities=(
        "Definir una propuesta de valor clara y coherente en todos los canales.",
        "Medir cada conversión para invertir donde el coste por cliente sea menor.",
        "Construir una base de datos propia de contactos y clientes.",
    ),
    segments=(
        "Personas que ya buscan una solución como la tuya",
        "Público afín que todavía no conoce la marca",
        "Clientes actuales con potencial de repetir o recomendar",
    ),
    phases=_phases(
        ("Auditar la web, la analítica y la presencia actual en canales.",
         "Definir propuesta de valor, mensajes y público por canal.",
         "Configurar la medición de conversiones.",
         "Preparar las primeras creatividades y contenidos."),
        ("Lanzar las campañas de pago en los canales prioritarios.",
         "Publicar contenido con un calendario editorial semanal.",
         "Activar la captación de contactos en la web.",
         "Revisión quincenal de resultados con ajustes."),
        ("Reasignar el presupuesto a los canales con mejor coste por resultado.",
         "Probar nuevas audiencias y mensajes (test A/B).",
         "Lanzar la primera automatización de email.",
         "Informe trimestral y plan del siguiente trimestre."),
    ),
    titles=_titles(),
)

TEMPLATES: dict[str, SectorTemplate] = {
    template.key: template
    for template in (_ECOMMERCE, _SERVICIOS_LOCALES, _B2B, _HOSTELERIA, _SALUD_BELLEZA, _GENERIC)
}


def get_template(sector: str | None) -> SectorTemplate:
    """The template for a flow's sector value; "otro", empty or unknown → generic."""
    return TEMPLATES.get((sector or "").strip().lower(), _GENERIC)


def template_as_guidance(template: SectorTemplate) -> dict:
    """The template as plain data for the LLM prompt (figures it may adapt)."""
    return {
        "sector": template.label,
        "version": template.version,
        "recommended_channels": [
            {"channel": CHANNELS[c.key].label, "weight": c.weight, "why": c.rationale} for c in template.channels
        ],
        "objectives_by_goal": {
            goal: {"title": spec.title, "metric": spec.metric, "unit": spec.unit, "benchmark_target": spec.target,
                   "results_per_1000_eur": spec.per_1000_eur}
            for goal, spec in template.objectives.items()
        },
        "kpis": [{"name": k.name, "benchmark": k.target, "unit": k.unit, "frequency": k.frequency}
                 for k in template.kpis],
        "diagnosis_angles": list(template.strengths + template.opportunities),
        "audience_segments": list(template.segments),
        "phases": [{"name": p.name, "weeks": p.weeks, "actions": list(p.actions)} for p in template.phases],
    }
