"""Every label the faces show (the Streamlit pages, the notebook studio), in Brazilian Portuguese, English and
Spanish. Core's own messages — errors, broken rules, notes — are worded by core/messages.py."""

# Language pickers show each language by its own name.
UI_LANGUAGES = {"pt-BR": "Português (Brasil)", "en": "English", "es": "Español"}
COLUMNS = {"pt-BR": 0, "en": 1, "es": 2}

# key: (Brazilian Portuguese, English, Spanish)
STRINGS: dict[str, tuple[str, str, str]] = {
    "app_title": ("Estúdio de Conteúdo", "Content Studio", "Estudio de Contenido"),
    "nav_generate": ("Gerar", "Generate", "Generar"),
    "nav_history": ("Histórico", "History", "Historial"),
    "reviewer_prompt": ("Como você se chama? Seu nome fica registrado nos rascunhos e comentários.",
                        "What is your name? It is recorded on drafts and comments.",
                        "¿Cómo te llamas? Tu nombre queda registrado en los borradores y comentarios."),
    "reviewer_label": ("Seu nome", "Your name", "Tu nombre"),
    "reviewer_go": ("Entrar", "Enter", "Entrar"),
    "reviewer_is": ("Você é", "You are", "Eres"),
    "logout": ("Sair", "Sign out", "Salir"),
    "ui_language": ("Idioma da interface", "Interface language", "Idioma de la interfaz"),
    "sidebar_engine": ("Motor", "Engine", "Motor"),
    "profile": ("Perfil", "Profile", "Perfil"),
    "device": ("Dispositivo", "Device", "Dispositivo"),
    "vram": ("VRAM em uso", "VRAM in use", "VRAM en uso"),
    "models_loaded": ("Modelos carregados", "Models loaded", "Modelos cargados"),
    "none_loaded": ("nenhum ainda", "none yet", "ninguno aún"),
    "compiling_text": (
        "Otimizando o modelo de texto em segundo plano: os textos já saem agora e ficam mais rápidos em alguns "
        "minutos.",
        "Optimizing the text model in the background: copy is written now and gets faster in a few minutes.",
        "Optimizando el modelo de texto en segundo plano: los textos ya salen ahora y serán más rápidos en unos "
        "minutos."),
    "compiling_images": (
        "Otimizando o SDXL em segundo plano: as imagens já saem agora e ficam mais rápidas em alguns minutos.",
        "Optimizing SDXL in the background: images render now and get faster in a few minutes.",
        "Optimizando SDXL en segundo plano: las imágenes ya salen ahora y serán más rápidas en unos minutos."),
    "compiling_sizes": (
        "Otimizando o SDXL para os outros formatos em segundo plano: 1024×1024 já está no mais rápido; os outros "
        "formatos ficam mais rápidos um a um nos próximos minutos (o que vocês usarem primeiro vem antes).",
        "Optimizing SDXL for the other formats in the background: 1024×1024 is already at full speed; the other "
        "formats get faster one by one over the next minutes (the first one you use comes first).",
        "Optimizando SDXL para los otros formatos en segundo plano: 1024×1024 ya va a toda velocidad; los otros "
        "formatos serán más rápidos uno a uno en los próximos minutos (el primero que usen va antes)."),
    "test_images_warning": (
        "As imagens deste perfil vêm de pesos aleatórios de teste: não são imagens reais.",
        "Images in this profile come from random test weights: they are not real images.",
        "Las imágenes de este perfil vienen de pesos aleatorios de prueba: no son imágenes reales."),
    "demo_text_warning": (
        "O texto deste perfil vem de um modelo de demonstração minúsculo ({model}): ele sai sem sentido. Para "
        "textos de verdade use o perfil full (Llama 3 com GPU) ou um servidor de modelos como Ollama ou llama.cpp "
        "(veja o README).",
        "Copy in this profile comes from a tiny demo model ({model}): it reads as nonsense. For real copy use "
        "the full profile (Llama 3 on a GPU) or a model server such as Ollama or llama.cpp (see the README).",
        "El texto de este perfil viene de un modelo de demostración diminuto ({model}): sale sin sentido. Para "
        "textos reales usa el perfil full (Llama 3 con GPU) o un servidor de modelos como Ollama o llama.cpp "
        "(ver el README)."),
    "brief": ("Briefing", "Brief", "Brief"),
    "product": ("Produto ou assunto", "Product or subject", "Producto o tema"),
    "content_type": ("Formato", "Format", "Formato"),
    "language": ("Idioma do texto", "Copy language", "Idioma del texto"),
    "audience": ("Público", "Audience", "Público"),
    "tone": ("Tom de voz", "Tone of voice", "Tono de voz"),
    "keywords": ("Palavras-chave (separadas por vírgula)", "Keywords (comma-separated)",
                 "Palabras clave (separadas por coma)"),
    "cta": ("Chamada para ação", "Call to action", "Llamada a la acción"),
    "key_facts": ("Fatos principais: características, preço, oferta, datas", "Key facts: features, price, offer, dates",
                  "Datos clave: características, precio, oferta, fechas"),
    "link": ("Link (https://…)", "Link (https://…)", "Enlace (https://…)"),
    "brand_notes": ("Notas da marca", "Brand notes", "Notas de marca"),
    "limit_help": ("Até {n} caracteres; um texto maior é recusado com aviso, nunca cortado.",
                   "Up to {n} characters; longer text is refused with a message, never cut.",
                   "Hasta {n} caracteres; un texto más largo se rechaza con aviso, nunca se corta."),
    "write": ("Escrever", "Write", "Escribir"),
    "type_instagram": ("Post de Instagram", "Instagram post", "Publicación de Instagram"),
    "type_linkedin": ("Post de LinkedIn", "LinkedIn post", "Publicación de LinkedIn"),
    "type_x": ("Post no X", "X post", "Publicación en X"),
    "type_product_description": ("Descrição de produto", "Product description", "Descripción de producto"),
    "type_email": ("E-mail de marketing", "Marketing email", "Correo de marketing"),
    "type_video_script": ("Roteiro de vídeo curto", "Short video script", "Guion de video corto"),
    "phase_queued": ("Na fila: há {n} trabalho(s) antes do seu.", "Queued: {n} job(s) ahead of yours.",
                     "En cola: hay {n} trabajo(s) antes del tuyo."),
    "phase_": ("Começando…", "Starting…", "Empezando…"),
    "phase_downloading": ("Baixando {model}: {done} de {total} GB, {speed} MB/s, falta {eta}. Fica guardado em "
                          "{folder} para as próximas partidas.",
                          "Downloading {model}: {done} of {total} GB, {speed} MB/s, {eta} left. It stays in {folder} "
                          "for the next starts.",
                          "Descargando {model}: {done} de {total} GB, {speed} MB/s, faltan {eta}. Queda guardado en "
                          "{folder} para los próximos inicios."),
    "phase_loading_text": ("Carregando o modelo de texto (só na primeira vez)…",
                           "Loading the text model (first time only)…",
                           "Cargando el modelo de texto (solo la primera vez)…"),
    "phase_writing": ("Escrevendo o texto…", "Writing the copy…", "Escribiendo el texto…"),
    "phase_checking": ("Conferindo as regras do canal…", "Checking the channel's rules…",
                       "Revisando las reglas del canal…"),
    "phase_repairing": ("Reescrevendo o texto, porque {why}…", "Rewriting the copy, because {why}…",
                        "Reescribiendo el texto, porque {why}…"),
    "phase_visual_prompt": ("Escrevendo o prompt visual em inglês…", "Writing the English visual prompt…",
                            "Escribiendo el prompt visual en inglés…"),
    "phase_saving": ("Salvando no histórico…", "Saving to the history…", "Guardando en el historial…"),
    "phase_loading_images": ("Carregando os modelos de imagem (só na primeira vez)…",
                             "Loading the image models (first time only)…",
                             "Cargando los modelos de imagen (solo la primera vez)…"),
    "phase_rendering": ("Gerando a imagem: passo {done} de {total}", "Rendering: step {done} of {total}",
                        "Generando la imagen: paso {done} de {total}"),
    "reattached": ("Este trabalho começou antes de a página recarregar; o resultado aparece aqui.",
                   "This job started before the page reloaded; its result appears here.",
                   "Este trabajo empezó antes de recargar la página; el resultado aparece aquí."),
    "copy": ("Texto", "Copy", "Texto"),
    "copy_edit_help": ("Edite à vontade: as regras do canal são conferidas a cada mudança.",
                       "Edit freely: channel rules are checked on every change.",
                       "Edita con libertad: las reglas del canal se revisan en cada cambio."),
    "save_copy": ("Salvar edição do texto", "Save copy edit", "Guardar edición del texto"),
    "copy_saved": ("Versão do texto salva.", "Copy version saved.", "Versión del texto guardada."),
    "chars": ("caracteres", "characters", "caracteres"),
    "hashtags": ("hashtags", "hashtags", "hashtags"),
    "subject": ("assunto", "subject", "asunto"),
    "preheader": ("pré-cabeçalho", "preheader", "preencabezado"),
    "scenes": ("cenas", "scenes", "escenas"),
    "kit_words_ok": ("palavras do kit ok", "kit words ok", "palabras del kit ok"),
    "kit_words_broken": ("palavras do kit", "kit words", "palabras del kit"),
    "nav_kits": ("Kits de marca", "Brand kits", "Kits de marca"),
    "nav_batch": ("Lote de catálogo", "Catalog batch", "Lote de catálogo"),
    "kit": ("Kit da marca", "Brand kit", "Kit de marca"),
    "no_kit": ("Nenhum", "None", "Ninguno"),
    "kit_help": ("O kit aplica a voz, as palavras obrigatórias e proibidas, as hashtags, o CTA padrão e o estilo "
                 "visual da marca.",
                 "The kit applies the brand's voice, required and banned words, hashtags, default CTA and visual "
                 "style.",
                 "El kit aplica la voz, las palabras obligatorias y prohibidas, los hashtags, el CTA por defecto y "
                 "el estilo visual de la marca."),
    "kit_new": ("Novo kit", "New kit", "Nuevo kit"),
    "kit_edit": ("Editar kit", "Edit kit", "Editar kit"),
    "kit_name": ("Nome do kit (cliente ou marca)", "Kit name (client or brand)", "Nombre del kit (cliente o marca)"),
    "kit_voice": ("Voz e tom", "Voice and tone", "Voz y tono"),
    "kit_required": ("Palavras obrigatórias (separadas por vírgula)", "Words to always use (comma-separated)",
                     "Palabras obligatorias (separadas por comas)"),
    "kit_banned": ("Palavras proibidas (separadas por vírgula)", "Words never to use (comma-separated)",
                   "Palabras prohibidas (separadas por comas)"),
    "kit_hashtags": ("Hashtags padrão", "Default hashtags", "Hashtags por defecto"),
    "kit_cta": ("CTA padrão", "Default CTA", "CTA por defecto"),
    "kit_colors": ("Cores (#RRGGBB, a primeira para o texto, a segunda para o botão)",
                   "Colours (#RRGGBB, the first for text, the second for the button)",
                   "Colores (#RRGGBB, el primero para el texto, el segundo para el botón)"),
    "kit_style": ("Estilo visual (em inglês)", "Visual style (English)", "Estilo visual (en inglés)"),
    "kit_negative": ("Prompt negativo (em inglês)", "Negative prompt (English)", "Prompt negativo (en inglés)"),
    "kit_logo": ("Logo (PNG com fundo transparente)", "Logo (PNG with a transparent background)",
                 "Logo (PNG con fondo transparente)"),
    "kit_font": ("Fonte (TTF/OTF; sem fonte, Source Sans Pro)", "Font (TTF/OTF; without one, Source Sans Pro)",
                 "Fuente (TTF/OTF; sin fuente, Source Sans Pro)"),
    "kit_save": ("Salvar kit", "Save kit", "Guardar kit"),
    "kit_saved": ("Kit {name} salvo (versão {version}).", "Kit {name} saved (version {version}).",
                  "Kit {name} guardado (versión {version})."),
    "kit_none_yet": ("Nenhum kit ainda: crie o primeiro abaixo.", "No kits yet: create the first below.",
                     "Aún no hay kits: crea el primero abajo."),
    "variants": ("Variantes", "Variants", "Variantes"),
    "variants_help": ("Um texto por ângulo, cada um com suas imagens; tudo numa fila só, que pode ser cancelada.",
                      "A copy per angle, each with its images; all in one queued job you can cancel.",
                      "Un texto por ángulo, cada uno con sus imágenes; todo en un solo trabajo que se puede "
                      "cancelar."),
    "variant_angles": ("Ângulos (2 a 4)", "Angles (2 to 4)", "Ángulos (2 a 4)"),
    "variant_images": ("Imagens por variante", "Images per variant", "Imágenes por variante"),
    "variants_make": ("Gerar variantes", "Make variants", "Generar variantes"),
    "angle_benefit": ("Benefício", "Benefit", "Beneficio"),
    "angle_emotion": ("Emoção", "Emotion", "Emoción"),
    "angle_urgency": ("Urgência", "Urgency", "Urgencia"),
    "angle_social_proof": ("Prova social", "Social proof", "Prueba social"),
    "open_variant": ("Abrir esta", "Open this one", "Abrir esta"),
    "storyboard": ("Storyboard", "Storyboard", "Storyboard"),
    "storyboard_make": ("Gerar uma imagem por cena (9:16)", "Render an image per scene (9:16)",
                        "Generar una imagen por escena (9:16)"),
    "storyboard_pdf": ("Baixar storyboard em PDF", "Download the storyboard PDF", "Descargar el storyboard en PDF"),
    "scene_n": ("Cena {n}", "Scene {n}", "Escena {n}"),
    "favorite": ("★ Favorita", "★ Favourite", "★ Favorita"),
    "mark_favorite": ("Marcar como favorita", "Mark as favourite", "Marcar como favorita"),
    "creatives": ("Peças finalizadas", "Finished creatives", "Piezas finales"),
    "creative_image": ("Imagem", "Image", "Imagen"),
    "creative_auto": ("automática", "automatic", "automática"),
    "creative_auto_help": ("Automática: a favorita ou a mais nova com a proporção do formato (estenda a imagem para "
                           "ele em Editar); sem nenhuma, a favorita recortada em volta do produto.",
                           "Automatic: the favourite or newest image in the format's shape (extend an image to it "
                           "under Edit); with none, the favourite cropped around the product.",
                           "Automática: la favorita o la más nueva con la proporción del formato (extiende la imagen "
                           "a él en Editar); sin ninguna, la favorita recortada alrededor del producto."),
    "creative_extend": ("Estender a imagem para o formato antes (SDXL)", "Extend the image to the format first (SDXL)",
                        "Extender la imagen al formato antes (SDXL)"),
    "creative_extend_help": ("Em vez de recortar, pinta o que falta da imagem para ela ter a proporção do formato; "
                             "vira uma nova versão da imagem.",
                             "Instead of cropping, paints what the image lacks to reach the format's shape; it "
                             "becomes a new image version.",
                             "En vez de recortar, pinta lo que le falta a la imagen para tener la proporción del "
                             "formato; queda como una nueva versión de la imagen."),
    "creative_format": ("Formato", "Format", "Formato"),
    "creative_template": ("Posição do texto", "Text position", "Posición del texto"),
    "template_bottom": ("embaixo", "bottom", "abajo"),
    "template_top": ("em cima", "top", "arriba"),
    "template_center": ("no centro", "centre", "en el centro"),
    "headline": ("Título", "Headline", "Titular"),
    "creative_make": ("Criar peça", "Make creative", "Crear pieza"),
    "creative_caption": ("{format} · contraste {contrast}:1{scrim}", "{format} · contrast {contrast}:1{scrim}",
                         "{format} · contraste {contrast}:1{scrim}"),
    "with_scrim": (" · com faixa de fundo", " · on a scrim", " · con franja de fondo"),
    "download_jpeg": ("Baixar JPEG", "Download JPEG", "Descargar JPEG"),
    "creative_format_instagram_square": ("Instagram feed 1080×1080", "Instagram feed 1080×1080",
                                         "Instagram feed 1080×1080"),
    "creative_format_instagram_portrait": ("Instagram feed 1080×1350", "Instagram feed 1080×1350",
                                           "Instagram feed 1080×1350"),
    "creative_format_story": ("Stories/Reels 1080×1920", "Stories/Reels 1080×1920", "Stories/Reels 1080×1920"),
    "creative_format_linkedin": ("LinkedIn 1200×628", "LinkedIn 1200×628", "LinkedIn 1200×628"),
    "creative_format_x": ("X 1200×675", "X 1200×675", "X 1200×675"),
    "creative_format_email_header": ("Cabeçalho de e-mail 1200×600", "Email header 1200×600",
                                     "Cabecera de correo 1200×600"),
    "batch_file": ("Planilha do catálogo (CSV ou XLSX)", "Catalog spreadsheet (CSV or XLSX)",
                   "Hoja del catálogo (CSV o XLSX)"),
    "batch_sample": ("Baixar planilha de exemplo", "Download a sample spreadsheet", "Descargar hoja de ejemplo"),
    "batch_column": ("Coluna para {field}", "Column for {field}", "Columna para {field}"),
    "batch_channels": ("Canais", "Channels", "Canales"),
    "batch_images": ("Gerar também as imagens", "Render the images too", "Generar también las imágenes"),
    "batch_start": ("Iniciar lote", "Start batch", "Iniciar lote"),
    "batch_resume": ("Retomar", "Resume", "Reanudar"),
    "batch_status": ("{done} prontos · {failed} com erro · {left} faltando", "{done} done · {failed} failed · "
                     "{left} left", "{done} listos · {failed} con error · {left} pendientes"),
    "batch_problems": ("{n} prontos com problemas no texto (não publique sem revisar):",
                       "{n} done with problems in the copy (do not publish without a review):",
                       "{n} listos con problemas en el texto (no publiques sin revisar):"),
    "batch_row": ("linha {row} ({channel})", "row {row} ({channel})", "fila {row} ({channel})"),
    "batch_export": ("Baixar ZIP do lote", "Download the batch ZIP", "Descargar el ZIP del lote"),
    "batch_list": ("Lotes", "Batches", "Lotes"),
    "column_none": ("(nenhuma)", "(none)", "(ninguna)"),
    "cta_present": ("CTA presente", "CTA present", "CTA presente"),
    "cta_missing": ("CTA ausente", "CTA missing", "CTA ausente"),
    "language_ok": ("idioma certo", "right language", "idioma correcto"),
    "language_wrong": ("idioma errado", "wrong language", "idioma equivocado"),
    "visual": ("Prompt visual (inglês)", "Visual prompt (English)", "Prompt visual (inglés)"),
    "prompt": ("Prompt", "Prompt", "Prompt"),
    "negative": ("Prompt negativo", "Negative prompt", "Prompt negativo"),
    "tokens": ("{n} de 77 tokens CLIP", "{n} of 77 CLIP tokens", "{n} de 77 tokens CLIP"),
    "source_fallback": ("Montado a partir do briefing.", "Composed from the brief.", "Armado a partir del brief."),
    "image_settings": ("Configurações da imagem", "Image settings", "Ajustes de la imagen"),
    "size": ("Tamanho", "Size", "Tamaño"),
    "seed_mode": ("Semente", "Seed", "Semilla"),
    "seed_random": ("Aleatória", "Random", "Aleatoria"),
    "seed_fixed": ("Fixa", "Fixed", "Fija"),
    "seed": ("Valor da semente", "Seed value", "Valor de la semilla"),
    "steps": ("Passos", "Steps", "Pasos"),
    "guidance": ("Guidance", "Guidance", "Guidance"),
    "refiner": ("Usar o refiner", "Use the refiner", "Usar el refiner"),
    "candidates": ("Candidatas", "Candidates", "Candidatas"),
    "quality": ("Qualidade", "Quality", "Calidad"),
    "quality_standard": ("Padrão (base + refiner)", "Standard (base + refiner)", "Estándar (base + refiner)"),
    "quality_fast": ("Rápido (4 passos)", "Fast (4 steps)", "Rápido (4 pasos)"),
    "fast_help": ("O modo rápido usa um LoRA destilado (SDXL-Lightning) em 4 passos, só com o modelo base e sem "
                  "guidance: uma fração do tempo numa GPU pequena, em troca de menos detalhe e de ignorar o prompt "
                  "negativo. Passos, guidance e refiner não se aplicam. Na primeira vez, o LoRA (cerca de 400 MB) "
                  "é baixado.",
                  "The fast mode uses a distilled LoRA (SDXL-Lightning) for 4 steps, on the base model alone and "
                  "without guidance: a fraction of the time on a small GPU, for less detail and no negative "
                  "prompt. Steps, guidance and refiner do not apply. The first time, the LoRA (about 400 MB) is "
                  "downloaded.",
                  "El modo rápido usa un LoRA destilado (SDXL-Lightning) en 4 pasos, solo con el modelo base y sin "
                  "guidance: una fracción del tiempo en una GPU pequeña, a cambio de menos detalle y de ignorar el "
                  "prompt negativo. Pasos, guidance y refiner no se aplican. La primera vez se descarga el LoRA "
                  "(unos 400 MB)."),
    "render": ("Gerar imagem", "Render image", "Generar imagen"),
    "rerender_same": ("Refazer com a mesma semente", "Re-render with the same seed", "Rehacer con la misma semilla"),
    "rerender_new": ("Refazer com nova semente", "Re-render with a new seed", "Rehacer con nueva semilla"),
    "session_images": ("Imagens desta sessão (mais novas primeiro)", "This session's images (newest first)",
                       "Imágenes de esta sesión (las más nuevas primero)"),
    "seed_used": ("semente {seed}", "seed {seed}", "semilla {seed}"),
    "download_png": ("Baixar PNG", "Download PNG", "Descargar PNG"),
    "download_copy": ("Baixar texto", "Download copy", "Descargar texto"),
    "draft_saved": ("Rascunho salvo: {product}", "Draft saved: {product}", "Borrador guardado: {product}"),
    "unexpected": ("Algo deu errado: {error}", "Something went wrong: {error}", "Algo salió mal: {error}"),
    "write_first": ("Escreva um texto primeiro: o prompt visual aparece aqui antes de qualquer imagem.",
                    "Write a copy first: the visual prompt appears here before any image is rendered.",
                    "Escribe un texto primero: el prompt visual aparece aquí antes de cualquier imagen."),
    "history_title": ("Histórico e revisão", "History and review", "Historial y revisión"),
    "filter_state": ("Estado", "State", "Estado"),
    "filter_type": ("Formato", "Format", "Formato"),
    "filter_author": ("Autor", "Author", "Autor"),
    "filter_text": ("Buscar", "Search", "Buscar"),
    "all": ("todos", "all", "todos"),
    "show_archived": ("Mostrar arquivados", "Show archived", "Mostrar archivados"),
    "show_deleted": ("Lixeira", "Bin", "Papelera"),
    "no_drafts": ("Nenhum rascunho encontrado.", "No drafts found.", "No se encontraron borradores."),
    "open": ("Abrir", "Open", "Abrir"),
    "state": ("Estado", "State", "Estado"),
    "state_draft": ("rascunho", "draft", "borrador"),
    "state_in_review": ("em revisão", "in review", "en revisión"),
    "state_approved": ("aprovado", "approved", "aprobado"),
    "state_changes_requested": ("alterações pedidas", "changes requested", "cambios pedidos"),
    "change_state": ("Mudar estado", "Change state", "Cambiar estado"),
    "move_to": ("Mover para", "Move to", "Mover a"),
    "changed_after_approval": ("voltou para revisão: mudou depois de aprovado",
                               "back in review: changed after approval",
                               "volvió a revisión: cambió después de aprobado"),
    "brief_details": ("Briefing deste rascunho", "This draft's brief", "Brief de este borrador"),
    "reopen": ("Abrir no Gerar", "Open in Generate", "Abrir en Generar"),
    "duplicate": ("Duplicar", "Duplicate", "Duplicar"),
    "duplicated": ("Cópia criada: {product}", "Copy made: {product}", "Copia creada: {product}"),
    "delete": ("Excluir", "Delete", "Eliminar"),
    "deleted": ("Rascunho movido para a lixeira: {product}", "Draft moved to the bin: {product}",
                "Borrador movido a la papelera: {product}"),
    "undo": ("Desfazer", "Undo", "Deshacer"),
    "undelete": ("Tirar da lixeira", "Restore from the bin", "Sacar de la papelera"),
    "edit_image": ("Editar uma imagem", "Edit an image", "Editar una imagen"),
    "edit_from": ("Partir da imagem", "Start from image", "Partir de la imagen"),
    "edit_kind": ("Edição", "Edit", "Edición"),
    "edit_variation": ("Variação (mantém a composição)", "Variation (keeps the composition)",
                       "Variación (mantiene la composición)"),
    "edit_inpaint": ("Refazer uma região", "Repaint a region", "Rehacer una región"),
    "edit_extend": ("Estender para outro formato", "Extend to another format", "Extender a otro formato"),
    "strength": ("Força da variação", "Variation strength", "Fuerza de la variación"),
    "strength_help": ("0,1 muda só um toque; 0,9 muda quase tudo.", "0.1 changes a touch; 0.9 nearly everything.",
                      "0,1 cambia solo un toque; 0,9 casi todo."),
    "region_x": ("Região: da esquerda para a direita (%)", "Region: left to right (%)",
                 "Región: de izquierda a derecha (%)"),
    "region_y": ("Região: de cima para baixo (%)", "Region: top to bottom (%)", "Región: de arriba abajo (%)"),
    "region_preview_keep": ("A região marcada fica idêntica; tudo em vermelho, em volta dela, será refeito.",
                            "The marked region stays identical; everything in red, around it, is repainted.",
                            "La región marcada queda idéntica; todo lo que está en rojo, a su alrededor, se rehace."),
    "region_preview": ("A região em vermelho será refeita; o resto fica idêntico.",
                       "The region in red is repainted; the rest stays identical.",
                       "La región en rojo se rehace; el resto queda idéntico."),
    "edit_prompt": ("Prompt da edição (inglês)", "Prompt for the edit (English)", "Prompt de la edición (inglés)"),
    "target_format": ("Formato de destino", "Target format", "Formato de destino"),
    "format_square": ("Quadrado 1:1 (1024x1024)", "Square 1:1 (1024x1024)", "Cuadrado 1:1 (1024x1024)"),
    "format_story": ("Stories/Reels 9:16 (768x1344)", "Stories/Reels 9:16 (768x1344)", "Stories/Reels 9:16 (768x1344)"),
    "format_feed_4_5": ("Feed 4:5 (896x1152)", "Feed 4:5 (896x1152)", "Feed 4:5 (896x1152)"),
    "format_banner": ("Banner 16:9 (1344x768)", "Banner 16:9 (1344x768)", "Banner 16:9 (1344x768)"),
    "format_landscape": ("Paisagem 9:7 (1152x896)", "Landscape 9:7 (1152x896)", "Paisaje 9:7 (1152x896)"),
    "apply_edit": ("Aplicar edição", "Apply edit", "Aplicar edición"),
    "lineage_variation": ("variação de v{parent} (força {strength})", "variation of v{parent} (strength {strength})",
                          "variación de v{parent} (fuerza {strength})"),
    "lineage_inpaint": ("região refeita de v{parent}", "region repainted from v{parent}",
                        "región rehecha de v{parent}"),
    "lineage_extend": ("v{parent} estendida para {size}", "v{parent} extended to {size}",
                       "v{parent} extendida a {size}"),
    "lineage_upload": ("foto enviada ({size})", "uploaded photo ({size})", "foto subida ({size})"),
    "upload_caption": ("v{n} · foto enviada · {author}", "v{n} · uploaded photo · {author}",
                       "v{n} · foto subida · {author}"),
    "upload_title": ("Usar uma foto sua", "Start from your own photo", "Usar una foto tuya"),
    "upload_file": ("Foto do produto ou esboço (PNG, JPEG ou WebP, até 20 MB)",
                    "Product photo or sketch (PNG, JPEG or WebP, up to 20 MB)",
                    "Foto del producto o boceto (PNG, JPEG o WebP, hasta 20 MB)"),
    "upload_help": ("A foto entra como nova versão de imagem, no formato SDXL mais próximo (cortada ao centro), sem "
                    "os metadados da câmera. Depois edite-a como qualquer imagem. Um PNG de fundo transparente guarda "
                    "o recorte do produto, para refazer só o fundo.",
                    "The photo becomes a new image version at the nearest SDXL format (centre-cropped), without the "
                    "camera's metadata; then edit it like any image. A PNG with a transparent background keeps the "
                    "product's cut-out, to repaint only the background.",
                    "La foto entra como nueva versión de imagen, en el formato SDXL más cercano (recortada al "
                    "centro), sin los metadatos de la cámara; luego edítala como cualquier imagen. Un PNG con fondo "
                    "transparente guarda el recorte del producto, para rehacer solo el fondo."),
    "add_upload": ("Adicionar como nova versão", "Add as a new version", "Añadir como nueva versión"),
    "uploaded": ("{name} entrou como imagem v{n} ({size}).", "{name} was added as image v{n} ({size}).",
                 "{name} entró como imagen v{n} ({size})."),
    "region_mode": ("Região", "Region", "Región"),
    "region_rectangle": ("Retângulo", "Rectangle", "Rectángulo"),
    "region_brush": ("Pincel", "Brush", "Pincel"),
    "region_cutout": ("Recorte do produto", "Product cut-out", "Recorte del producto"),
    "keep_region": ("Manter a região e refazer todo o resto (ex.: o produto fica, o fundo muda)",
                    "Keep the region and repaint everything else (e.g. the product stays, the background changes)",
                    "Mantener la región y rehacer todo lo demás (p. ej., el producto queda, el fondo cambia)"),
    "brush_hint": ("Pinte sobre a imagem a região; solte o botão para registrar.",
                   "Paint the region over the image; release the button to record it.",
                   "Pinta la región sobre la imagen; suelta el botón para registrarla."),
    "brush_size": ("Tamanho do pincel", "Brush size", "Tamaño del pincel"),
    "no_cutout": ("A imagem mais recente não é uma foto enviada com recorte (PNG de fundo transparente).",
                  "The newest image is not an uploaded photo with a cut-out (a PNG with a transparent background).",
                  "La imagen más reciente no es una foto subida con recorte (PNG con fondo transparente)."),
    "brush_painted": ("Pintado: {share}% da imagem.", "Painted: {share}% of the image.",
                      "Pintado: {share}% de la imagen."),
    "brush_clear": ("Limpar", "Clear", "Borrar"),
    "compare_images": ("Comparar imagens (antes e depois)", "Compare images (before and after)",
                       "Comparar imágenes (antes y después)"),
    "comments": ("Comentários", "Comments", "Comentarios"),
    "add_comment": ("Comentar", "Comment", "Comentar"),
    "comment": ("Comentário", "Comment", "Comentario"),
    "compare": ("Comparar versões", "Compare versions", "Comparar versiones"),
    "left": ("Esquerda", "Left", "Izquierda"),
    "right": ("Direita", "Right", "Derecha"),
    "archive": ("Arquivar", "Archive", "Archivar"),
    "restore": ("Restaurar", "Restore", "Restaurar"),
    "select_export": ("Rascunhos para exportar", "Drafts to export", "Borradores para exportar"),
    "choose": ("Escolha…", "Choose…", "Elige…"),
    "download_zip": ("Baixar ZIP", "Download ZIP", "Descargar ZIP"),
    "copy_versions": ("Versões do texto", "Copy versions", "Versiones del texto"),
    "prompt_versions": ("Versões do prompt", "Prompt versions", "Versiones del prompt"),
    "image_versions": ("Imagens", "Images", "Imágenes"),
    "image_caption": ("v{n} · semente {seed} · prompt v{prompt} · {author}",
                      "v{n} · seed {seed} · prompt v{prompt} · {author}",
                      "v{n} · semilla {seed} · prompt v{prompt} · {author}"),
    "recovered": ("Aviso: um arquivo do histórico estava danificado e foi restaurado ({replayed} mudanças "
                  "reaplicadas, nenhuma perdida). O arquivo danificado ficou guardado como {file}.",
                  "Warning: a history file was damaged and was restored ({replayed} saved changes replayed, none "
                  "lost). The damaged file is kept as {file}.",
                  "Aviso: un archivo del historial estaba dañado y se restauró ({replayed} cambios reaplicados, "
                  "ninguno perdido). El archivo dañado quedó guardado como {file}."),
    "recovered_vanished": ("Aviso: o arquivo do histórico {file} tinha sumido e foi refeito a partir do backup e do "
                           "registro ({replayed} mudanças reaplicadas, nenhuma perdida).",
                           "Warning: the history file {file} had vanished and was rebuilt from its backup and "
                           "journal ({replayed} saved changes replayed, none lost).",
                           "Aviso: el archivo del historial {file} había desaparecido y se rehízo a partir de la "
                           "copia y del registro ({replayed} cambios reaplicados, ninguno perdido)."),
    "read_only": ("O histórico está somente para leitura: o arquivo {file} não foi reconhecido e ficou intacto. "
                  "Mova-o ou restaure um backup para voltar a salvar.",
                  "The history is read-only: the file {file} was not recognised and was left untouched. Move it "
                  "away or restore a backup to save again.",
                  "El historial es de solo lectura: el archivo {file} no se reconoció y quedó intacto. Muévelo o "
                  "restaura una copia de seguridad para volver a guardar."),
    "skipped_drafts": ("{n} rascunho(s) ilegível(is) ficaram de fora da lista: {which}.",
                       "{n} unreadable draft(s) were left out of the list: {which}.",
                       "{n} borrador(es) ilegible(s) quedaron fuera de la lista: {which}."),
    "finished_ok": ("texto completo", "finished text", "texto completo"),
    "finished_broken": ("texto inacabado", "unfinished text", "texto inacabado"),
    "copy_of": ("cópia de {product}", "copy of {product}", "copia de {product}"),
    "show_more": ("Mostrar mais ({n} restantes)", "Show more ({n} left)", "Mostrar más ({n} restantes)"),
    "text_server": ("Servidor de texto", "Text server", "Servidor de texto"),
    "incomplete_copy": ("Texto incompleto: o servidor parou antes do fim. Nada foi salvo; copie o que servir.",
                        "Incomplete copy: the server stopped before the end. Nothing was saved; copy what helps.",
                        "Texto incompleto: el servidor se detuvo antes del final. No se guardó nada; copia lo que "
                        "sirva."),
    "no_images": ("Sem imagens ainda.", "No images yet.", "Sin imágenes aún."),
    "rerender": ("Gerar nova imagem com este prompt", "Render a new image with this prompt",
                 "Generar una nueva imagen con este prompt"),
    "cancel": ("Cancelar", "Cancel", "Cancelar"),
    "cancelled": ("Trabalho cancelado.", "Job cancelled.", "Trabajo cancelado."),
    "password": ("Senha da equipe", "Team password", "Contraseña del equipo"),
    "enter": ("Entrar", "Enter", "Entrar"),
    "wrong_password": ("Senha incorreta.", "Wrong password.", "Contraseña incorrecta."),
    "wait": ("Muitas tentativas. Tente de novo em {s} s.", "Too many attempts. Try again in {s} s.",
             "Demasiados intentos. Inténtalo de nuevo en {s} s."),
    "refuse_open": (
        "Este app está acessível de fora e não tem senha. Defina app_password em .streamlit/secrets.toml ou "
        "STUDIO_PASSWORD (ou, se for mesmo sua intenção, STUDIO_ALLOW_NO_PASSWORD=1).",
        "This app is reachable from outside and has no password. Set app_password in .streamlit/secrets.toml or "
        "STUDIO_PASSWORD (or, if you really mean it, STUDIO_ALLOW_NO_PASSWORD=1).",
        "Esta app es accesible desde fuera y no tiene contraseña. Define app_password en .streamlit/secrets.toml o "
        "STUDIO_PASSWORD (o, si de verdad es tu intención, STUDIO_ALLOW_NO_PASSWORD=1)."),
    "refuse_weak": ("Este app está acessível de fora e a senha não protege: {why}. Troque STUDIO_PASSWORD (ou "
                    "app_password em .streamlit/secrets.toml) e reinicie.",
                    "This app is reachable from outside and its password does not protect it: {why}. Change "
                    "STUDIO_PASSWORD (or app_password in .streamlit/secrets.toml) and restart.",
                    "Esta app es accesible desde fuera y su contraseña no la protege: {why}. Cambia STUDIO_PASSWORD "
                    "(o app_password en .streamlit/secrets.toml) y reinicia."),
    "open_warning": ("Atenção: este app está público e SEM senha. Qualquer pessoa com o link pode usá-lo.",
                     "Warning: this app is public and has NO password. Anyone with the link can use it.",
                     "Atención: esta app es pública y NO tiene contraseña. Cualquiera con el enlace puede usarla."),
}


def t(language: str, key: str, **values) -> str:
    """The label for key in the interface language (Brazilian Portuguese if unknown), with values filled in."""
    text = STRINGS[key][COLUMNS.get(language, 0)]
    return text.format(**values) if values else text


def skipped_text(skipped, language: str) -> str:
    """The drafts a list left out as unreadable (core.studio.records.RecordError), named by id and field."""
    which = "; ".join(f"{error.draft_id} ({error.field})" for error in skipped[:5])
    return t(language, "skipped_drafts", n=len(skipped), which=which)


def draft_label(draft, language: str) -> str:
    """A draft as every list and picker names it, never the same for two drafts: product · channel · date · the
    end of its id, "copy of" before a duplicate's product."""
    product = draft.brief.product[:50]
    if draft.copied_from:
        product = t(language, "copy_of", product=product)
    return (f"{product} · {t(language, 'type_' + draft.brief.content_type.value)} · "
            f"{draft.created_at[:16].replace('T', ' ')} · {draft.id[-6:]}")


def rule_label(rule, language: str) -> str:
    """A channel rule measured on a copy (core.content.channels.Measure), as a badge's words."""
    return {"length": f"{rule.actual}/{rule.limit} {t(language, 'chars')}",
            "hashtags": f"{rule.actual}/{rule.limit} {t(language, 'hashtags')}",
            "subject": f"{t(language, 'subject')} {rule.actual}/{rule.limit}",
            "preheader": f"{t(language, 'preheader')} {rule.actual}/{rule.limit}",
            "scenes": f"{rule.actual} {t(language, 'scenes')}",
            "cta": t(language, "cta_present" if rule.ok else "cta_missing"),
            "kit_words": t(language, "kit_words_ok" if rule.ok else "kit_words_broken"),
            "finished": t(language, "finished_ok" if rule.ok else "finished_broken"),
            "language": t(language, "language_ok" if rule.ok else "language_wrong")}[rule.rule]


def phase_text(job, position: int, language: str) -> str:
    """What a job (a Progress) is doing, in words: its place in the queue, or its phase (with why, for a repair)."""
    if position > 0:
        return t(language, "phase_queued", n=position)
    words = _phase_words(job, language)
    if getattr(job, "items", None) is not None:  # a batch: its items so far, then what the current one is doing
        done, failed, left = job.items
        return f"{t(language, 'batch_status', done=done, failed=failed, left=left)} — {words}"
    return words


def _phase_words(job, language: str) -> str:
    """What a running job's phase is doing, in words."""
    if job.phase == "repairing":
        return t(language, "phase_repairing", why="; ".join(v.text(language) for v in job.reasons))
    if job.phase == "rendering":
        done, total = job.step
        return t(language, "phase_rendering", done=done, total=total or "…")
    if job.phase == "downloading" and job.download is not None:
        d = job.download
        return t(language, "phase_downloading", model=d.model, done=f"{d.done / 1e9:.1f}", total=f"{d.total / 1e9:.1f}",
                 speed=f"{d.speed / 1e6:.0f}", eta=duration(d.eta_s), folder=d.folder)
    return t(language, f"phase_{job.phase}")


def duration(seconds: float | None) -> str:
    """A time left as people say it: "40 s", "3 min 20 s", "1 h 05 min"; "…" when not known yet."""
    if seconds is None:
        return "…"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
