"""Every message core gives a user — errors, rule violations, notes — by code, in pt-BR, English and Spanish.

Core raises and returns codes with parameters; each face renders them in its interface language, and logs and
the command line use the English text. A parameter named field, language, expected or found is itself translated,
and a parameter holding a Message (or a list of them) is rendered in the same language."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

LANGUAGES = ("pt-BR", "en", "es")
DEFAULT_LANGUAGE = "pt-BR"

# code: (English, Brazilian Portuguese, Spanish)
MESSAGES: dict[str, tuple[str, str, str]] = {
    # -- fields of a brief, a setting or a record ----------------------------------------------------------------
    "empty": ("{field} must not be empty",
              "{field}: preencha este campo",
              "{field}: completa este campo"),
    "too_long_field": ("{field} must be at most {limit} characters, not {length} (got {value})",
                       "{field}: no máximo {limit} caracteres (tem {length}: {value})",
                       "{field}: como máximo {limit} caracteres (tiene {length}: {value})"),
    "not_text": ("{field} must be text (got {value})",
                 "{field}: precisa ser texto (recebido {value})",
                 "{field}: debe ser texto (recibido {value})"),
    "not_one_of": ("{field} must be one of: {allowed} (got {value})",
                   "{field}: escolha uma destas opções: {allowed} (recebido {value})",
                   "{field}: elige una de estas opciones: {allowed} (recibido {value})"),
    "control_character": ("{field} must not contain the control character {char} (got {value})",
                          "{field}: não pode conter o caractere de controle {char} (recebido {value})",
                          "{field}: no puede contener el carácter de control {char} (recibido {value})"),
    "too_many_keywords": ("{field} must hold at most {limit} keywords, not {count}",
                          "{field}: no máximo {limit} palavras-chave (tem {count})",
                          "{field}: como máximo {limit} palabras clave (tiene {count})"),
    "keywords_not_list": ("{field} must be a list of words (got {value})",
                          "{field}: precisa ser uma lista de palavras (recebido {value})",
                          "{field}: debe ser una lista de palabras (recibido {value})"),
    "empty_keyword": ("{field} must not hold an empty keyword",
                      "{field}: há uma palavra-chave vazia",
                      "{field}: hay una palabra clave vacía"),
    "too_many_items": ("{field} must hold at most {limit} items, not {count}",
                       "{field}: no máximo {limit} itens (tem {count})",
                       "{field}: como máximo {limit} elementos (tiene {count})"),
    "bad_color": ("{field} must be written as #RRGGBB, such as #1A2B3C (got {value})",
                  "{field}: escreva as cores como #RRGGBB, por exemplo #1A2B3C (recebido {value})",
                  "{field}: escribe los colores como #RRGGBB, por ejemplo #1A2B3C (recibido {value})"),
    "bad_hashtag": ("{field} must be hashtags such as #MinhaMarca, one word after the # (got {value})",
                    "{field}: use hashtags como #MinhaMarca, uma palavra depois do # (recebido {value})",
                    "{field}: usa hashtags como #MiMarca, una palabra después del # (recibido {value})"),
    "word_required_and_banned": ("{field}: these words are both required and banned: {value}",
                                 "{field}: estas palavras estão ao mesmo tempo exigidas e proibidas: {value}",
                                 "{field}: estas palabras están a la vez exigidas y prohibidas: {value}"),
    "kit_contradiction": ("{field}: {value} is banned, yet {other} uses it ({found}): no copy under this kit could "
                          "pass; take it out of one of the two",
                          "{field}: {value} está proibida, mas {other} a usa ({found}): nenhum texto com este kit "
                          "passaria; tire-a de um dos dois",
                          "{field}: {value} está prohibida, pero {other} la usa ({found}): ningún texto con este kit "
                          "pasaría; quítala de uno de los dos"),
    "bad_url": ("{field} must be a web address starting with http:// or https://, without spaces (got {value})",
                "{field}: precisa ser um endereço web que comece com http:// ou https://, sem espaços "
                "(recebido {value})",
                "{field}: debe ser una dirección web que empiece con http:// o https://, sin espacios "
                "(recibido {value})"),
    "link_not_public": ("{field}: {value} points to a local or private address; use the public web address people "
                        "will open",
                        "{field}: {value} aponta para um endereço local ou privado; use o endereço público que as "
                        "pessoas vão abrir",
                        "{field}: {value} apunta a una dirección local o privada; usa la dirección pública que la "
                        "gente abrirá"),
    "out_of_range": ("{field} must be from {low} to {high} (got {value})",
                     "{field}: precisa estar entre {low} e {high} (recebido {value})",
                     "{field}: debe estar entre {low} y {high} (recibido {value})"),
    "not_a_number": ("{field} must be a number from {low} to {high} (got {value})",
                     "{field}: precisa ser um número entre {low} e {high} (recebido {value})",
                     "{field}: debe ser un número entre {low} y {high} (recibido {value})"),
    "fast_steps": ("{field} must be at most {limit} in the fast mode, whose LoRA is distilled for few steps "
                   "(got {value})",
                   "{field}: no máximo {limit} no modo rápido, cujo LoRA foi treinado para poucos passos "
                   "(recebido {value})",
                   "{field}: como máximo {limit} en el modo rápido, cuyo LoRA se entrenó para pocos pasos "
                   "(recibido {value})"),
    "fast_unavailable": ("the fast mode is not available here: {reason}",
                         "o modo rápido não está disponível aqui: {reason}",
                         "el modo rápido no está disponible aquí: {reason}"),
    "fast_no_lora": ("no few-step LoRA is configured (STUDIO_FAST_LORA)",
                     "nenhum LoRA de poucos passos foi configurado (STUDIO_FAST_LORA)",
                     "no hay ningún LoRA de pocos pasos configurado (STUDIO_FAST_LORA)"),
    "fast_compiled": ("this GPU renders the standard mode compiled, in seconds; the fast mode is for smaller GPUs",
                      "esta GPU já gera o modo padrão compilado, em segundos; o modo rápido é para GPUs menores",
                      "esta GPU ya genera el modo estándar compilado, en segundos; el modo rápido es para GPU "
                      "más pequeñas"),
    "fast_edits": ("edits run in the standard mode only",
                   "edições usam só o modo padrão",
                   "las ediciones usan solo el modo estándar"),
    "not_sdxl_size": ("{field} must be one of the SDXL sizes: {allowed} (got {value})",
                      "{field}: use um dos tamanhos do SDXL: {allowed} (recebido {value})",
                      "{field}: usa uno de los tamaños de SDXL: {allowed} (recibido {value})"),
    "mask_wrong_size": ("{field} must be the image's size, {size} (got {value})",
                        "{field}: precisa ter o tamanho da imagem, {size} (recebido {value})",
                        "{field}: debe tener el tamaño de la imagen, {size} (recibido {value})"),
    "not_an_image": ("{field} {value} is not an image this studio reads ({allowed}), or the file is damaged",
                     "{field}: {value} não é uma imagem que o estúdio lê ({allowed}), ou o arquivo está danificado",
                     "{field}: {value} no es una imagen que el estudio lea ({allowed}), o el archivo está dañado"),
    "upload_too_large": ("{field} {value} is {size} MB; the most a file may have is {limit} MB",
                         "{field}: {value} tem {size} MB; o máximo por arquivo é {limit} MB",
                         "{field}: {value} tiene {size} MB; el máximo por archivo es {limit} MB"),
    "upload_too_many_pixels": ("{field} {value} is {size} pixels; the most an image may have is {limit} megapixels",
                               "{field}: {value} tem {size} pixels; o máximo por imagem é {limit} megapixels",
                               "{field}: {value} tiene {size} píxeles; el máximo por imagen es {limit} megapíxeles"),
    "upload_all_transparent": ("{field} {value} is fully transparent: there is nothing to start from",
                               "{field}: {value} é totalmente transparente; não há nada de onde partir",
                               "{field}: {value} es totalmente transparente; no hay nada de donde partir"),
    "mask_empty": ("{field} marks nothing to repaint: paint or select a region first",
                   "{field}: nada foi marcado para refazer; pinte ou selecione uma região primeiro",
                   "{field}: no se marcó nada para rehacer; pinta o selecciona una región primero"),
    "extend_same_size": ("{field} {value} is the image's own size: pick another format to extend to",
                         "{field}: {value} já é o tamanho da imagem; escolha outro formato para estender",
                         "{field}: {value} ya es el tamaño de la imagen; elige otro formato para extender"),
    "no_image_version": ("the draft has no image version {value}",
                         "o rascunho não tem a imagem v{value}",
                         "el borrador no tiene la imagen v{value}"),
    # -- history --------------------------------------------------------------------------------------------------
    "no_kit": ("no brand kit {value}",
               "não há kit da marca {value}",
               "no hay kit de marca {value}"),
    "no_kit_named": ("no brand kit is called {value}; the kits are: {allowed}",
                     "nenhum kit da marca se chama {value}; os kits são: {allowed}",
                     "ningún kit de marca se llama {value}; los kits son: {allowed}"),
    "kit_name_taken": ("{field}: another brand kit is already called {value}",
                       "{field}: já existe outro kit da marca chamado {value}",
                       "{field}: ya existe otro kit de marca llamado {value}"),
    "kit_unreadable": ("the brand kit {value} is stored in a form this studio cannot read ({reason}); it is left "
                       "out and untouched",
                       "o kit da marca {value} está gravado de um jeito que o estúdio não lê ({reason}); ele ficou "
                       "de fora e não foi alterado",
                       "el kit de marca {value} está guardado de una forma que el estudio no lee ({reason}); quedó "
                       "fuera y no se modificó"),
    "kits_unreadable": ("the brand kits file {file} is damaged; it was left untouched",
                        "o arquivo de kits da marca {file} está danificado; ele não foi alterado",
                        "el archivo de kits de marca {file} está dañado; no se modificó"),
    "logo_not_png": ("{field} {value} must be a PNG file (with a transparent background)",
                     "{field}: {value} precisa ser um arquivo PNG (com fundo transparente)",
                     "{field}: {value} debe ser un archivo PNG (con fondo transparente)"),
    "logo_opaque": ("{field} {value} has no transparent background; export the logo as a PNG with transparency",
                    "{field}: {value} não tem fundo transparente; exporte o logo como PNG com transparência",
                    "{field}: {value} no tiene fondo transparente; exporta el logo como PNG con transparencia"),
    "not_a_font": ("{field} {value} is not a TrueType or OpenType font file (.ttf, .otf), or it is damaged",
                   "{field}: {value} não é um arquivo de fonte TrueType ou OpenType (.ttf, .otf), ou está danificado",
                   "{field}: {value} no es un archivo de fuente TrueType u OpenType (.ttf, .otf), o está dañado"),
    "font_lacks_letters": ("{field} {value} cannot draw these letters: {letters}",
                           "{field}: {value} não tem estas letras: {letters}",
                           "{field}: {value} no tiene estas letras: {letters}"),
    "catalog_unreadable": ("{field} {value} is not a spreadsheet this studio reads ({allowed}), or it is damaged",
                           "{field}: {value} não é uma planilha que o estúdio lê ({allowed}), ou está danificada",
                           "{field}: {value} no es una hoja de cálculo que el estudio lea ({allowed}), o está "
                           "dañada"),
    "catalog_empty": ("{field} {value} has no rows under its headings",
                      "{field}: {value} não tem linhas abaixo dos títulos",
                      "{field}: {value} no tiene filas debajo de los títulos"),
    "catalog_too_long": ("{field} {value} has {count} rows; a batch takes at most {limit}",
                         "{field}: {value} tem {count} linhas; um lote aceita no máximo {limit}",
                         "{field}: {value} tiene {count} filas; un lote acepta como máximo {limit}"),
    "catalog_no_product": ("{field}: choose the column that holds the product (the headings are {value})",
                           "{field}: escolha a coluna com o produto (os títulos são {value})",
                           "{field}: elige la columna con el producto (los títulos son {value})"),
    "catalog_row": ("row {row}, column {column}: {problem}",
                    "linha {row}, coluna {column}: {problem}",
                    "fila {row}, columna {column}: {problem}"),
    "catalog_formula": ("row {row}, column {column}: cell {cell} holds a formula ({value}) whose result was never "
                        "saved in the file; open it in Excel or Google Sheets and save it again, or paste the values",
                        "linha {row}, coluna {column}: a célula {cell} tem uma fórmula ({value}) cujo resultado "
                        "não foi salvo no arquivo; abra-o no Excel ou no Google Planilhas e salve de novo, ou cole "
                        "só os valores",
                        "fila {row}, columna {column}: la celda {cell} tiene una fórmula ({value}) cuyo resultado no "
                        "se guardó en el archivo; ábrelo en Excel o Google Sheets y guárdalo de nuevo, o pega solo "
                        "los valores"),
    "password_blank": ("the team password is blank",
                       "a senha da equipe está em branco",
                       "la contraseña del equipo está en blanco"),
    "password_short": ("the team password has {length} characters; use at least {limit}",
                       "a senha da equipe tem {length} caracteres; use pelo menos {limit}",
                       "la contraseña del equipo tiene {length} caracteres; usa al menos {limit}"),
    "password_common": ("the team password is on the lists of common passwords attackers try first; choose "
                        "another (three or four unrelated words work well)",
                        "a senha da equipe está nas listas de senhas comuns que atacantes testam primeiro; escolha "
                        "outra (três ou quatro palavras sem relação entre si funcionam bem)",
                        "la contraseña del equipo está en las listas de contraseñas comunes que los atacantes prueban "
                        "primero; elige otra (tres o cuatro palabras sin relación entre sí funcionan bien)"),
    "password_guessable": ("the team password could be guessed in about 10^{power} tries (repeats, sequences, "
                           "keyboard runs, a word and a year); choose a longer one of unrelated words",
                           "a senha da equipe poderia ser adivinhada em cerca de 10^{power} tentativas (repetições, "
                           "sequências, teclas vizinhas, uma palavra e um ano); escolha uma mais longa, de palavras "
                           "sem relação entre si",
                           "la contraseña del equipo podría adivinarse en unos 10^{power} intentos (repeticiones, "
                           "secuencias, teclas vecinas, una palabra y un año); elige una más larga, de palabras sin "
                           "relación entre sí"),
    "variant_angles": ("{field}: choose from {low} to {high} different angles (got {value})",
                       "{field}: escolha de {low} a {high} ângulos diferentes (recebido {value})",
                       "{field}: elige de {low} a {high} ángulos distintos (recibido {value})"),
    "storyboard_no_scenes": ("the draft {value} is not a video script with scenes; a storyboard needs scenes",
                             "o rascunho {value} não é um roteiro de vídeo com cenas; um storyboard precisa de cenas",
                             "el borrador {value} no es un guion de video con escenas; un storyboard necesita "
                             "escenas"),
    "not_found": ("{field}: no readable file at {value}", "{field}: não há arquivo legível em {value}",
                  "{field}: no hay un archivo legible en {value}"),
    "no_batch": ("no batch {value}", "não há lote {value}", "no hay lote {value}"),
    "batch_unreadable": ("the batch {value} is damaged", "o lote {value} está danificado",
                         "el lote {value} está dañado"),
    "draft_moved_on": ("the draft {value} moved on while you edited: you started from version {base}, and {author} "
                       "saved version {current} at {at}; reopen the draft to see it, then save yours on top",
                       "o rascunho {value} mudou enquanto você editava: você partiu da versão {base}, e {author} "
                       "salvou a versão {current} às {at}; reabra o rascunho para vê-la e então salve a sua por cima",
                       "el borrador {value} cambió mientras editabas: partiste de la versión {base}, y {author} "
                       "guardó la versión {current} a las {at}; vuelve a abrir el borrador para verla y luego guarda "
                       "la tuya encima"),
    "no_draft": ("no draft with id {value}",
                 "não existe rascunho com o id {value}",
                 "no existe un borrador con el id {value}"),
    "bad_draft_id": ("{field} must look like 20260101-120000-0123abcd (got {value})",
                     "{field}: precisa ter a forma 20260101-120000-0123abcd (recebido {value})",
                     "{field}: debe tener la forma 20260101-120000-0123abcd (recibido {value})"),
    "bad_transition": ("a draft in state {state} cannot move to {target}",
                       "um rascunho no estado {state} não pode passar para {target}",
                       "un borrador en estado {state} no puede pasar a {target}"),
    "bad_image_name": ("{field} must be a generated name such as 20260101-120000-0123abcd.png (got {value})",
                       "{field}: precisa ser um nome gerado como 20260101-120000-0123abcd.png (recebido {value})",
                       "{field}: debe ser un nombre generado como 20260101-120000-0123abcd.png (recibido {value})"),
    "record_unreadable": ("draft {value} is unreadable: {field} {reason}",
                          "o rascunho {value} está ilegível: {field} {reason}",
                          "el borrador {value} es ilegible: {field} {reason}"),
    "disk_full": ("not enough disk space to {action} in {folder}; nothing was changed — free some space and try "
                  "again",
                  "não há espaço em disco para salvar em {folder}; nada foi alterado. Libere espaço e tente de novo.",
                  "no hay espacio en disco para guardar en {folder}; no se cambió nada. Libera espacio e inténtalo "
                  "de nuevo."),
    "write_failed": ("could not {action} in {folder}: {reason}; nothing was changed",
                     "não foi possível salvar em {folder}: {reason}. Nada foi alterado.",
                     "no se pudo guardar en {folder}: {reason}. No se cambió nada."),
    "unrecognised": ("the history file {file} was not recognised ({reason}); it was left untouched and the history "
                     "is read-only",
                     "o arquivo de histórico {file} não foi reconhecido ({reason}); ficou intacto e o histórico está "
                     "somente para leitura",
                     "el archivo de historial {file} no se reconoció ({reason}); quedó intacto y el historial es de "
                     "solo lectura"),
    # -- jobs and engines ----------------------------------------------------------------------------------------
    "job_cancelled_short": ("it was cancelled", "foi cancelada", "se canceló"),
    "job_timeout_short": ("the job reached its time limit", "o trabalho chegou ao limite de tempo",
                          "el trabajo llegó a su límite de tiempo"),
    "unexpected": ("something went wrong: {error}", "algo deu errado: {error}", "algo salió mal: {error}"),
    "repair_interrupted": ("the model was rewriting it because {why}, but the rewrite did not finish ({cause}); "
                           "the whole first draft was saved as it was",
                           "o modelo estava reescrevendo porque {why}, mas a reescrita não terminou ({cause}); o "
                           "primeiro rascunho inteiro foi salvo como estava",
                           "el modelo lo estaba reescribiendo porque {why}, pero la reescritura no terminó "
                           "({cause}); el primer borrador completo se guardó tal como estaba"),
    "visual_interrupted": ("the visual prompt was composed from the brief, since the job was stopped before the "
                           "model could write one",
                           "o prompt visual foi montado a partir do briefing, pois o trabalho parou antes de o modelo "
                           "escrever um",
                           "el prompt visual se armó a partir del brief, porque el trabajo se detuvo antes de que el "
                           "modelo escribiera uno"),
    "job_cancelled": ("the job was cancelled",
                      "o trabalho foi cancelado",
                      "el trabajo se canceló"),
    "job_timeout": ("the {label} job took longer than its {minutes}-minute limit and was stopped; the queue moved on",
                    "o trabalho passou do limite de {minutes} minutos e foi interrompido; a fila seguiu",
                    "el trabajo superó su límite de {minutes} minutos y se detuvo; la cola siguió"),
    "out_of_memory": ("{action} ran out of GPU memory even with the most frugal setting; try a smaller size or "
                      "fewer candidates",
                      "faltou memória na GPU mesmo no modo mais econômico; tente um tamanho menor ou menos "
                      "candidatas",
                      "faltó memoria en la GPU incluso en el modo más económico; prueba un tamaño menor o menos "
                      "candidatas"),
    "out_of_memory_after": ("{action} ran out of GPU memory even after {change}; try a smaller size or fewer "
                            "candidates",
                            "faltou memória na GPU mesmo depois de mudar o modo de memória ({change}); tente um "
                            "tamanho menor ou menos candidatas",
                            "faltó memoria en la GPU incluso después de cambiar el modo de memoria ({change}); prueba "
                            "un tamaño menor o menos candidatas"),
    "generation_failed": ("{action} failed: {detail}",
                          "a geração falhou: {detail}",
                          "la generación falló: {detail}"),
    "server_stopped": ("the text server stopped answering mid-copy: {detail}",
                       "o servidor de texto parou de responder no meio do texto: {detail}",
                       "el servidor de texto dejó de responder a mitad del texto: {detail}"),
    "server_stopped_after": ("the text server stopped mid-answer, after sending {received} characters: {detail}",
                             "o servidor de texto parou no meio da resposta, depois de enviar {received} caracteres: "
                             "{detail}",
                             "el servidor de texto se detuvo a mitad de la respuesta, tras enviar {received} "
                             "caracteres: {detail}"),
    "server_unreachable": ("could not reach the text server at {url}: {cause}",
                           "não foi possível falar com o servidor de texto em {url}: {cause}",
                           "no se pudo contactar el servidor de texto en {url}: {cause}"),
    "server_timeout": ("the text server at {url} did not answer within {seconds} s",
                       "o servidor de texto em {url} não respondeu em {seconds} s",
                       "el servidor de texto en {url} no respondió en {seconds} s"),
    "server_refused_key": ("the text server at {url} refused the API key (HTTP {status})",
                           "o servidor de texto em {url} recusou a chave de API (HTTP {status})",
                           "el servidor de texto en {url} rechazó la clave de API (HTTP {status})"),
    "server_lacks_model": ("the text server at {url} cannot serve the model {value}: {detail}",
                           "o servidor de texto em {url} não consegue servir o modelo {value}: {detail}",
                           "el servidor de texto en {url} no puede servir el modelo {value}: {detail}"),
    "server_http_error": ("the text server at {url} answered HTTP {status}: {detail}",
                          "o servidor de texto em {url} respondeu com erro HTTP {status}: {detail}",
                          "el servidor de texto en {url} respondió con error HTTP {status}: {detail}"),
    "server_error": ("the text server at {url} failed: {detail}",
                     "o servidor de texto em {url} falhou: {detail}",
                     "el servidor de texto en {url} falló: {detail}"),
    "no_such_model": ("the text server at {url} has no model {value}; it offers: {allowed}",
                      "o servidor de texto em {url} não tem o modelo {value}; ele oferece: {allowed}",
                      "el servidor de texto en {url} no tiene el modelo {value}; ofrece: {allowed}"),
    "model_load_failed": ("could not load the model {model}: {detail}",
                          "não foi possível carregar o modelo {model}: {detail}",
                          "no se pudo cargar el modelo {model}: {detail}"),
    "model_gated": ("could not load the model {model}: it is gated — accept its licence on the Hugging Face hub "
                    "and set HF_TOKEN, or point STUDIO_TEXT_MODEL at a local folder ({detail})",
                    "não foi possível carregar o modelo {model}: ele é restrito — aceite a licença dele no Hugging "
                    "Face e defina HF_TOKEN, ou aponte STUDIO_TEXT_MODEL para uma pasta local ({detail})",
                    "no se pudo cargar el modelo {model}: es restringido — acepta su licencia en Hugging Face y "
                    "define HF_TOKEN, o apunta STUDIO_TEXT_MODEL a una carpeta local ({detail})"),
    "configuration": ("{detail}",
                      "configuração inválida: {detail}",
                      "configuración no válida: {detail}"),
    # -- channel rules (also the repair instructions the model reads, in the brief's language) --------------------
    "too_long": ("the text has {actual} characters; the limit is {limit}",
                 "o texto tem {actual} caracteres; o limite é {limit}",
                 "el texto tiene {actual} caracteres; el límite es {limit}"),
    "too_many_hashtags": ("the text has {actual} hashtags; the limit is {limit}",
                          "o texto tem {actual} hashtags; o limite é {limit}",
                          "el texto tiene {actual} hashtags; el límite es {limit}"),
    "missing_subject": ("the email has no subject line",
                        "o e-mail não tem a linha de assunto",
                        "el correo no tiene línea de asunto"),
    "subject_too_long": ("the subject has {actual} characters; the limit is {limit}",
                         "o assunto tem {actual} caracteres; o limite é {limit}",
                         "el asunto tiene {actual} caracteres; el límite es {limit}"),
    "preheader_too_long": ("the preheader has {actual} characters; the limit is {limit}",
                           "o pré-cabeçalho tem {actual} caracteres; o limite é {limit}",
                           "el preencabezado tiene {actual} caracteres; el límite es {limit}"),
    "too_few_scenes": ("the script has {actual} scenes; it needs at least {limit}",
                       "o roteiro tem {actual} cenas; precisa de pelo menos {limit}",
                       "el guion tiene {actual} escenas; necesita al menos {limit}"),
    "too_many_scenes": ("the script has {actual} scenes; the limit is {limit}",
                        "o roteiro tem {actual} cenas; o limite é {limit}",
                        "el guion tiene {actual} escenas; el límite es {limit}"),
    "scene_without_visual": ("scenes without a visual idea: {scenes}",
                             "cenas sem ideia visual: {scenes}",
                             "escenas sin idea visual: {scenes}"),
    "placeholder": ("the text still holds template holes to fill: {found}; write the real words instead",
                    "o texto ainda tem lacunas de modelo para preencher: {found}; escreva as palavras reais",
                    "el texto aún tiene huecos de plantilla por rellenar: {found}; escribe las palabras reales"),
    "meta_commentary": ("the text talks about the writing instead of being the post: {found}; give only the post",
                        "o texto fala sobre a escrita em vez de ser o post: {found}; entregue só o post",
                        "el texto habla sobre la redacción en vez de ser la publicación: {found}; entrega solo la "
                        "publicación"),
    "cut_off": ("the text stops mid-word or mid-sentence (…{ending}); finish it",
                "o texto para no meio de uma palavra ou frase (…{ending}); termine-o",
                "el texto se corta a mitad de palabra o de frase (…{ending}); termínalo"),
    "missing_cta": ("the call to action {value} is missing (written as the post's own words, not quoted)",
                    "a chamada para ação {value} não aparece (escrita como parte do texto, não entre aspas)",
                    "la llamada a la acción {value} no aparece (escrita como parte del texto, no entre comillas)"),
    "banned_words": ("the brand kit bans these words, used in the text: {words}",
                     "o kit da marca proíbe estas palavras, usadas no texto: {words}",
                     "el kit de la marca prohíbe estas palabras, usadas en el texto: {words}"),
    "missing_words": ("the brand kit requires these words, missing from the text: {words}",
                      "o kit da marca exige estas palavras, que faltam no texto: {words}",
                      "el kit de la marca exige estas palabras, que faltan en el texto: {words}"),
    "wrong_language": ("the text is in {found}, not in {expected}",
                       "o texto está em {found}, não em {expected}",
                       "el texto está en {found}, no en {expected}"),
    # -- what the repair did ------------------------------------------------------------------------------------
    "repair_trimmed": ("cut to the channel's length and hashtag limits",
                       "cortado para caber nos limites de tamanho e de hashtags do canal",
                       "recortado para caber en los límites de longitud y hashtags del canal"),
    "repair_regenerated": ("rewritten by the model because {why}",
                           "reescrito pelo modelo porque {why}",
                           "reescrito por el modelo porque {why}"),
    "repair_kept_first": ("the model rewrote it because {why}, but the rewrite broke more rules; the first draft "
                          "was kept",
                          "o modelo reescreveu porque {why}, mas a nova versão quebrava mais regras; ficou o "
                          "primeiro texto",
                          "el modelo lo reescribió porque {why}, pero la nueva versión rompía más reglas; se "
                          "mantuvo el primer texto"),
    # -- the visual prompt ---------------------------------------------------------------------------------------
    "visual_unusable": ("the model's image prompt was not usable ({reason}); one was composed from the brief",
                        "o prompt de imagem do modelo não servia ({reason}); um foi montado a partir do briefing",
                        "el prompt de imagen del modelo no servía ({reason}); se armó uno a partir del brief"),
    "visual_no_negative": ("the model wrote no negative prompt; the standard one is used",
                           "o modelo não escreveu prompt negativo; o padrão foi usado",
                           "el modelo no escribió prompt negativo; se usa el estándar"),
    "visual_product_generic": ("the product's name is not English, so the prompt names no product: describe it "
                               "in English in the prompt",
                               "o nome do produto não está em inglês, então o prompt não o cita: descreva o produto "
                               "em inglês no prompt",
                               "el nombre del producto no está en inglés, así que el prompt no lo nombra: describe "
                               "el producto en inglés en el prompt"),
    "visual_product_translated": ("the product's name was put into English as {value}; check it",
                                  "o nome do produto foi passado para o inglês como {value}; confira",
                                  "el nombre del producto se pasó al inglés como {value}; revísalo"),
    "clip_window": ("the {field} takes {tokens} CLIP tokens; SDXL reads only the first {limit}, so the words after "
                    "that are ignored",
                    "{field}: {tokens} tokens CLIP; o SDXL lê só os primeiros {limit}, o resto é ignorado",
                    "{field}: {tokens} tokens CLIP; SDXL solo lee los primeros {limit}, el resto se ignora"),
    "empty_answer": ("empty answer", "resposta vazia", "respuesta vacía"),
    "no_prompt_line": ("no PROMPT line", "sem linha PROMPT", "sin línea PROMPT"),
    "prompt_too_short": ("too short", "curto demais", "demasiado corto"),
    "prompt_too_long": ("longer than {limit} characters", "mais de {limit} caracteres", "más de {limit} caracteres"),
    "prompt_not_english": ("not in English", "não está em inglês", "no está en inglés"),
    "prompt_placeholder": ("a template with placeholders", "um modelo com lacunas", "una plantilla con huecos"),
    "prompt_prose": ("prose, not a list of visual details", "texto corrido, não uma lista de detalhes visuais",
                     "prosa, no una lista de detalles visuales"),
}

FIELD_NAMES: dict[str, tuple[str, str, str]] = {
    "product": ("product", "Produto", "Producto"),
    "content_type": ("content type", "Formato", "Formato"),
    "language": ("language", "Idioma", "Idioma"),
    "audience": ("audience", "Público", "Público"),
    "tone": ("tone", "Tom de voz", "Tono"),
    "keywords": ("keywords", "Palavras-chave", "Palabras clave"),
    "call_to_action": ("call to action", "Chamada para ação", "Llamada a la acción"),
    "brand_notes": ("brand notes", "Notas da marca", "Notas de marca"),
    "key_facts": ("key facts", "Fatos principais", "Datos clave"),
    "link": ("link", "Link", "Enlace"),
    "size": ("size", "Tamanho", "Tamaño"),
    "steps": ("steps", "Passos", "Pasos"),
    "guidance": ("guidance", "Guidance", "Guidance"),
    "refiner_switch": ("refiner switch", "Troca para o refiner", "Cambio al refiner"),
    "candidates": ("candidates", "Candidatas", "Candidatas"),
    "quality": ("quality", "Qualidade", "Calidad"),
    "seed": ("seed", "Semente", "Semilla"),
    "prompt": ("prompt", "Prompt", "Prompt"),
    "negative_prompt": ("negative prompt", "Prompt negativo", "Prompt negativo"),
    "memory_policy": ("memory policy", "Política de memória", "Política de memoria"),
    "mask": ("mask", "Máscara", "Máscara"),
    "upload": ("uploaded image", "Imagem enviada", "Imagen subida"),
    "strength": ("strength", "Força da variação", "Fuerza de la variación"),
    "edit": ("edit", "Edição", "Edición"),
    "author": ("author", "Nome", "Nombre"),
    "comment": ("comment", "Comentário", "Comentario"),
    "copy": ("copy", "Texto", "Texto"),
    "state": ("state", "Estado", "Estado"),
    "draft_id": ("draft id", "Id do rascunho", "Id del borrador"),
    "image": ("image name", "Nome da imagem", "Nombre de la imagen"),
    "record": ("record", "registro", "registro"),
    "kit": ("brand kit", "Kit da marca", "Kit de marca"),
    "angle": ("angle", "Ângulo", "Ángulo"),
    "angles": ("angles", "Ângulos", "Ángulos"),
    "images_per_variant": ("images per variant", "Imagens por variante", "Imágenes por variante"),
    "kit_name": ("kit name", "Nome do kit", "Nombre del kit"),
    "voice": ("voice and tone notes", "Voz e tom", "Voz y tono"),
    "required_words": ("words to always use", "Palavras obrigatórias", "Palabras obligatorias"),
    "banned_words": ("words never to use", "Palavras proibidas", "Palabras prohibidas"),
    "hashtags": ("hashtags", "Hashtags", "Hashtags"),
    "colors": ("colours", "Cores", "Colores"),
    "visual_style": ("visual style", "Estilo visual", "Estilo visual"),
    "kit_negative": ("negative prompt of the kit", "Prompt negativo do kit", "Prompt negativo del kit"),
    "logo": ("logo", "Logo", "Logo"),
    "font": ("font", "Fonte", "Fuente"),
    "catalog": ("catalog", "Planilha", "Hoja de cálculo"),
    "columns": ("columns", "Colunas", "Columnas"),
    "creative_format": ("creative format", "Formato da peça", "Formato de la pieza"),
    "template": ("template", "Modelo", "Plantilla"),
    "headline": ("headline", "Título", "Titular"),
}

LANGUAGE_NAMES: dict[str, tuple[str, str, str]] = {
    "pt-BR": ("Brazilian Portuguese", "português do Brasil", "portugués de Brasil"),
    "en": ("English", "inglês", "inglés"),
    "es": ("Spanish", "espanhol", "español"),
}
STATE_NAMES: dict[str, tuple[str, str, str]] = {
    "draft": ("draft", "rascunho", "borrador"),
    "in_review": ("in review", "em revisão", "en revisión"),
    "approved": ("approved", "aprovado", "aprobado"),
    "changes_requested": ("changes requested", "alterações pedidas", "cambios pedidos"),
}
_COLUMN = {"en": 0, "pt-BR": 1, "es": 2}  # the tables' columns
_TRANSLATED = {"field": FIELD_NAMES, "other": FIELD_NAMES, "language": LANGUAGE_NAMES, "expected": LANGUAGE_NAMES,
               "found": LANGUAGE_NAMES, "state": STATE_NAMES, "target": STATE_NAMES}


@dataclass(frozen=True)
class Message:
    """A message as core gives it: a code and its parameters; text(language) words it."""

    code: str
    params: Mapping = field(default_factory=dict)

    def text(self, language: str = "en") -> str:
        return render(self.code, self.params, language)

    def __str__(self) -> str:
        return self.text("en")


def render(code: str, params: Mapping, language: str = "en") -> str:
    """The message for code in language (pt-BR when the language is unknown), parameters filled in."""
    column = _column(language)
    template = MESSAGES[code][column] if code in MESSAGES else f"{code}: {{detail}}"
    values = {name: _worded(name, value, language, column) for name, value in params.items()}
    try:
        return template.format_map(_Missing(values))
    except (ValueError, IndexError):  # a stray brace in a parameter must not hide the message
        return template


def language_name(code: str, language: str) -> str:
    """A copy language's name, worded in language."""
    return _worded("language", code, language, _column(language))


def state_name(code: str, language: str) -> str:
    """A review state's name, worded in language."""
    return _worded("state", code, language, _column(language))


def _column(language: str) -> int:
    return _COLUMN.get(language, _COLUMN[DEFAULT_LANGUAGE])


def shown(value: object, limit: int = 80) -> str:
    """A user's value quoted for a message, cut to limit characters with the closing quote kept."""
    if isinstance(value, str):
        text = value if len(value) <= limit else value[: limit - 1] + "…"
        return f"“{text}”"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _worded(name: str, value: object, language: str, column: int) -> str:
    if _wordable(value):
        return value.text(language)
    if isinstance(value, (list, tuple)) and value and all(map(_wordable, value)):
        return "; ".join(item.text(language) for item in value)
    table = _TRANSLATED.get(name)
    if table is not None and isinstance(value, str) and value in table:
        return table[value][column]
    if name == "value":
        return shown(value)
    return str(value)


def _wordable(value: object) -> bool:
    """A Message, or anything else that words itself the same way (a rule violation)."""
    return not isinstance(value, str) and callable(getattr(value, "text", None))


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
