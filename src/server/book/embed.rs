//! Sentence embeddings computed in Rust: a BERT encoder (all-MiniLM-L6-v2 by default) run with
//! candle on the CPU, mean-pooled and L2-normalised as sentence-transformers does, so a question
//! and a section can be compared by meaning ("video card" ~ "GPU") and not only by words.
//!
//! The model folder is any sentence-transformers BERT export (`config.json`, `tokenizer.json`,
//! `model.safetensors`). When it carries a `SHA256SUMS` file (the setup scripts write one after
//! checking the pinned hashes), every listed file is verified before the model is used.

use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{embedding, layer_norm, linear, Embedding, LayerNorm, Linear, VarBuilder};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokenizers::Tokenizer;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("reading {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{file} does not match its SHA-256 in SHA256SUMS (expected {expected}, found {found}): refusing to load it")]
    HashMismatch { file: String, expected: String, found: String },
    #[error("SHA256SUMS lists {0}, which is not in the model folder")]
    Missing(String),
    #[error("model configuration: {0}")]
    Config(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("model: {0}")]
    Model(#[from] candle_core::Error),
}

/// The fields of a BERT `config.json` the encoder needs.
#[derive(Debug, Clone, Deserialize)]
struct BertConfig {
    vocab_size: usize,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    type_vocab_size: usize,
    #[serde(default = "default_eps")]
    layer_norm_eps: f64,
    #[serde(default)]
    hidden_act: Option<String>,
}

fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    out_norm: LayerNorm,
}

struct Bert {
    words: Embedding,
    positions: Embedding,
    token_types: Embedding,
    norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
}

impl Bert {
    fn load(vb: VarBuilder, c: &BertConfig) -> candle_core::Result<Bert> {
        let (h, eps) = (c.hidden_size, c.layer_norm_eps);
        // Some exports prefix every tensor with `bert.`.
        let vb = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") { vb.pp("bert") } else { vb };
        let e = vb.pp("embeddings");
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for i in 0..c.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            layers.push(Layer {
                query: linear(h, h, l.pp("attention.self.query"))?,
                key: linear(h, h, l.pp("attention.self.key"))?,
                value: linear(h, h, l.pp("attention.self.value"))?,
                attn_out: linear(h, h, l.pp("attention.output.dense"))?,
                attn_norm: layer_norm(h, eps, l.pp("attention.output.LayerNorm"))?,
                intermediate: linear(h, c.intermediate_size, l.pp("intermediate.dense"))?,
                output: linear(c.intermediate_size, h, l.pp("output.dense"))?,
                out_norm: layer_norm(h, eps, l.pp("output.LayerNorm"))?,
            });
        }
        Ok(Bert {
            words: embedding(c.vocab_size, h, e.pp("word_embeddings"))?,
            positions: embedding(c.max_position_embeddings, h, e.pp("position_embeddings"))?,
            token_types: embedding(c.type_vocab_size, h, e.pp("token_type_embeddings"))?,
            norm: layer_norm(h, eps, e.pp("LayerNorm"))?,
            layers,
            heads: c.num_attention_heads,
        })
    }

    /// `ids` [batch, tokens] (u32), `mask` [batch, tokens] (1.0 for a token, 0.0 for padding):
    /// the mean of the last layer over real tokens, L2-normalised: [batch, hidden].
    fn sentence_embeddings(&self, ids: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let positions = Tensor::arange(0u32, t as u32, ids.device())?.unsqueeze(0)?;
        let x = self
            .words
            .forward(ids)?
            .broadcast_add(&self.positions.forward(&positions)?)?
            .broadcast_add(&self.token_types.forward(&ids.zeros_like()?)?)?;
        let mut x = self.norm.forward(&x)?;
        let hidden = x.dim(2)?;
        let d = hidden / self.heads;
        // Padding gets -inf-like scores so no token attends to it.
        let pad_bias = ((mask.ones_like()? - mask)? * -1e9)?.reshape((b, 1, 1, t))?;
        let scale = 1.0 / (d as f64).sqrt();
        for l in &self.layers {
            let heads = |y: Tensor| y.reshape((b, t, self.heads, d))?.transpose(1, 2)?.contiguous();
            let q = heads(l.query.forward(&x)?)?;
            let k = heads(l.key.forward(&x)?)?;
            let v = heads(l.value.forward(&x)?)?;
            let scores = (q.matmul(&k.t()?.contiguous()?)? * scale)?.broadcast_add(&pad_bias)?;
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let ctx = probs.matmul(&v)?.transpose(1, 2)?.contiguous()?.reshape((b, t, hidden))?;
            x = l.attn_norm.forward(&(l.attn_out.forward(&ctx)? + &x)?)?;
            let inner = l.intermediate.forward(&x)?.gelu_erf()?;
            x = l.out_norm.forward(&(l.output.forward(&inner)? + &x)?)?;
        }
        let m = mask.unsqueeze(2)?;
        let summed = x.broadcast_mul(&m)?.sum(1)?;
        let mean = summed.broadcast_div(&m.sum(1)?)?;
        let norm = mean.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        mean.broadcast_div(&norm)
    }
}

/// Longest input in tokens: sentence-transformers' `max_seq_length` for this model family.
const MAX_TOKENS: usize = 256;
/// Texts encoded together; sorted by length first, so padding stays small.
const BATCH: usize = 16;
/// Question embeddings remembered (a repeated question costs nothing).
const CACHE_ENTRIES: usize = 2048;

/// A loaded model, shared by every request (it is read-only).
pub struct Embedder {
    model: Bert,
    tokenizer: Tokenizer,
    dim: usize,
    max_tokens: usize,
    id: String,
    cache: Mutex<HashMap<String, Arc<[f32]>>>,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder").field("id", &self.id).field("dim", &self.dim).finish()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, EmbedError> {
    std::fs::read(path).map_err(|source| EmbedError::Io { path: path.to_owned(), source })
}

/// Check every file listed in `dir/SHA256SUMS` (`sha256sum` format). Returns whether a list
/// was there.
pub fn verify_checksums(dir: &Path) -> Result<bool, EmbedError> {
    let list = dir.join("SHA256SUMS");
    if !list.exists() {
        return Ok(false);
    }
    let text = String::from_utf8_lossy(&read(&list)?).into_owned();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Some((expected, file)) = line.split_once(char::is_whitespace) else {
            return Err(EmbedError::Config(format!("bad SHA256SUMS line {line:?}")));
        };
        let file = file.trim().trim_start_matches('*');
        let path = dir.join(file);
        if !path.exists() {
            return Err(EmbedError::Missing(file.to_owned()));
        }
        let found = hex::encode(Sha256::digest(read(&path)?));
        if !found.eq_ignore_ascii_case(expected.trim()) {
            return Err(EmbedError::HashMismatch { file: file.to_owned(), expected: expected.trim().to_owned(), found });
        }
    }
    Ok(true)
}

impl Embedder {
    /// Load a sentence-transformers BERT folder, verifying its checksums when listed.
    pub fn load(dir: &Path) -> Result<Embedder, EmbedError> {
        let verified = verify_checksums(dir)?;
        let config: BertConfig = serde_json::from_slice(&read(&dir.join("config.json"))?)
            .map_err(|e| EmbedError::Config(e.to_string()))?;
        if config.hidden_act.as_deref().is_some_and(|a| a != "gelu") {
            return Err(EmbedError::Config(format!("unsupported activation {:?}", config.hidden_act)));
        }
        if config.hidden_size % config.num_attention_heads != 0 {
            return Err(EmbedError::Config("hidden size is not a multiple of the head count".into()));
        }
        let mut tokenizer = Tokenizer::from_bytes(read(&dir.join("tokenizer.json"))?).map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        // The export pads every input to 128 tokens; batches are padded here instead.
        tokenizer.with_padding(None);
        tokenizer.with_truncation(None).map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        let weights = dir.join("model.safetensors");
        let bytes = read(&weights)?;
        // The cache key names the exact weights, so another model never reuses these vectors.
        let id = format!(
            "{}@{}",
            dir.file_name().and_then(|n| n.to_str()).unwrap_or("model"),
            &hex::encode(Sha256::digest(&bytes))[..16]
        );
        let vb = VarBuilder::from_buffered_safetensors(bytes, DType::F32, &Device::Cpu)?;
        let model = Bert::load(vb, &config)?;
        tracing::info!(model = %id, dim = config.hidden_size, verified, "sentence-embedding model loaded");
        Ok(Embedder {
            model,
            tokenizer,
            dim: config.hidden_size,
            max_tokens: MAX_TOKENS.min(config.max_position_embeddings),
            id,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Names the model and its exact weights (the embedding cache is keyed by it).
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Token ids of a text, cut to the model's maximum (keeping the closing `[SEP]`).
    fn ids(&self, text: &str) -> Result<Vec<u32>, EmbedError> {
        let enc = self.tokenizer.encode(text, true).map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        let mut ids = enc.get_ids().to_vec();
        if ids.len() > self.max_tokens {
            let last = ids[ids.len() - 1];
            ids.truncate(self.max_tokens - 1);
            ids.push(last);
        }
        Ok(ids)
    }

    /// How many word pieces the model splits a word into ("robot" 1, "kalibr" 3): a word the
    /// model's vocabulary knows whole is common language; one it has to spell out is jargon or a
    /// name.
    pub fn word_pieces(&self, word: &str) -> usize {
        self.tokenizer.encode(word, false).map(|e| e.get_ids().len()).unwrap_or(1)
    }

    /// Embed texts (unit vectors, in input order).
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut encoded: Vec<(usize, Vec<u32>)> = texts.iter().enumerate().map(|(i, t)| Ok((i, self.ids(t)?))).collect::<Result<_, EmbedError>>()?;
        encoded.sort_by_key(|(_, ids)| ids.len());
        let mut out = vec![Vec::new(); texts.len()];
        for batch in encoded.chunks(BATCH) {
            let t = batch.iter().map(|(_, ids)| ids.len()).max().unwrap_or(1).max(1);
            let mut ids = Vec::with_capacity(batch.len() * t);
            let mut mask = Vec::with_capacity(batch.len() * t);
            for (_, seq) in batch {
                for j in 0..t {
                    ids.push(seq.get(j).copied().unwrap_or(0));
                    mask.push(if j < seq.len() { 1f32 } else { 0f32 });
                }
            }
            let ids = Tensor::from_vec(ids, (batch.len(), t), &Device::Cpu)?;
            let mask = Tensor::from_vec(mask, (batch.len(), t), &Device::Cpu)?;
            let vectors = self.model.sentence_embeddings(&ids, &mask)?.to_vec2::<f32>()?;
            for ((i, _), v) in batch.iter().zip(vectors) {
                out[*i] = v;
            }
        }
        Ok(out)
    }

    /// One text's embedding, remembered for the next time it is asked.
    pub fn embed_one(&self, text: &str) -> Result<Arc<[f32]>, EmbedError> {
        let key = text.trim().to_lowercase();
        if let Some(v) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(v.clone());
        }
        let v: Arc<[f32]> = self.embed(&[text])?.pop().unwrap_or_default().into();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, v.clone());
        Ok(v)
    }
}

impl Embedder {
    /// Forget remembered question embeddings (for measuring the cost of computing them).
    pub fn clear_cache(&self) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// Dot product of two unit vectors: their cosine similarity.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Vectors as stored in Postgres: little-endian f32s.
pub fn to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn from_bytes(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// The model's folder name where BookChat looks for it by default.
pub const DEFAULT_MODEL: &str = "all-MiniLM-L6-v2";

/// Where the model is looked for when `BOOKCHAT_EMBED_MODEL_DIR` is unset, whatever the working
/// directory: beside the binary (`models/`, as the release tarball and the image lay it out),
/// in `share/bookchat/models/` above it (a system install), in the checkout the binary was built
/// in (`target/<profile>/bookchat` → `.data/models/`, where the scripts unpack it), and in the
/// working directory's `.data/models/`.
pub fn default_model_dirs() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(exe_dir) = std::env::current_exe().ok().and_then(|p| p.canonicalize().ok()).and_then(|p| p.parent().map(Path::to_path_buf)) {
        out.push(exe_dir.join("models").join(DEFAULT_MODEL));
        out.push(exe_dir.join("../share/bookchat/models").join(DEFAULT_MODEL));
        out.push(exe_dir.join("../../.data/models").join(DEFAULT_MODEL));
    }
    out.push(PathBuf::from(".data/models").join(DEFAULT_MODEL));
    out
}

/// The model to load: `BOOKCHAT_EMBED_MODEL_DIR` when set (`none`: no model, BM25 alone, said
/// out loud), else the first of `candidates` that holds one. No model found is an error, never a
/// silent fall back to BM25: on a real textbook that halves the answers.
pub fn model_dir(configured: Option<&str>, candidates: &[PathBuf]) -> Result<Option<PathBuf>, String> {
    match configured.map(str::trim) {
        Some("none") => Ok(None),
        Some("") | None => candidates.iter().find(|d| d.join("model.safetensors").exists()).cloned().map(Some).ok_or_else(|| {
            format!(
                "no sentence-embedding model found (looked in {}). Point BOOKCHAT_EMBED_MODEL_DIR at the model's folder \
                 (bash scripts/run fetches it into .data/models/{DEFAULT_MODEL}), or set BOOKCHAT_EMBED_MODEL_DIR=none \
                 to answer with BM25 alone — markedly worse answers",
                candidates.iter().map(|c| c.display().to_string()).collect::<Vec<_>>().join(", ")
            )
        }),
        Some(dir) => Ok(Some(PathBuf::from(dir))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("bookchat-embed-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn the_model_is_found_wherever_the_server_starts_or_start_up_says_why_not() {
        let empty = temp_dir("none-here");
        let with = temp_dir("model-here");
        std::fs::write(with.join("model.safetensors"), b"w").unwrap();
        assert_eq!(model_dir(None, &[empty.clone(), with.clone()]), Ok(Some(with.clone())));
        assert_eq!(model_dir(Some("  "), &[with.clone()]), Ok(Some(with.clone())));
        assert_eq!(model_dir(Some("none"), &[with.clone()]), Ok(None), "BM25 alone only when asked");
        assert_eq!(model_dir(Some("/srv/model"), &[with]), Ok(Some(PathBuf::from("/srv/model"))));
        let err = model_dir(None, &[empty.clone()]).unwrap_err();
        assert!(err.contains(&empty.display().to_string()) && err.contains("BOOKCHAT_EMBED_MODEL_DIR=none"), "{err}");
        // The candidates do not depend on the working directory (bar the last).
        assert!(default_model_dirs().iter().rev().skip(1).all(|d| d.is_absolute()));
    }

    #[test]
    fn checksums_are_verified_and_a_changed_file_is_refused() {
        let d = temp_dir("sums");
        std::fs::write(d.join("model.safetensors"), b"weights").unwrap();
        std::fs::write(d.join("tokenizer.json"), b"{}").unwrap();
        assert!(!verify_checksums(&d).unwrap(), "no list: nothing to verify");
        let sum = |b: &[u8]| hex::encode(Sha256::digest(b));
        std::fs::write(
            d.join("SHA256SUMS"),
            format!("{}  model.safetensors\n{} *tokenizer.json\n", sum(b"weights"), sum(b"{}")),
        )
        .unwrap();
        assert!(verify_checksums(&d).unwrap());
        std::fs::write(d.join("model.safetensors"), b"tampered").unwrap();
        let err = verify_checksums(&d).unwrap_err();
        assert!(matches!(&err, EmbedError::HashMismatch { file, .. } if file == "model.safetensors"), "{err}");
        assert!(matches!(Embedder::load(&d), Err(EmbedError::HashMismatch { .. })), "a model that fails its check is not loaded");
        std::fs::remove_file(d.join("tokenizer.json")).unwrap();
        std::fs::write(d.join("model.safetensors"), b"weights").unwrap();
        assert!(matches!(verify_checksums(&d), Err(EmbedError::Missing(f)) if f == "tokenizer.json"));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn vectors_round_trip_through_bytes() {
        let v = vec![0.25f32, -1.5, 3.0e-7];
        assert_eq!(from_bytes(&to_bytes(&v)), v);
        assert!((cosine(&[0.6, 0.8], &[0.6, 0.8]) - 1.0).abs() < 1e-6);
    }

    /// With the real model (set `BOOKCHAT_EMBED_MODEL_DIR`, as `scripts/test` does): the known
    /// reference vector, and meaning over wording.
    #[test]
    fn the_real_model_embeds_by_meaning() {
        let Some(dir) = std::env::var("BOOKCHAT_EMBED_MODEL_DIR").ok().filter(|d| !d.is_empty()) else {
            eprintln!("BOOKCHAT_EMBED_MODEL_DIR not set: skipped");
            return;
        };
        let e = Embedder::load(Path::new(&dir)).expect("model loads");
        let v = e.embed(&["This is a test sentence.", "What graphics card do I need?", "GPU requirements", "How to bake bread"]).unwrap();
        // Reference values from an independent NumPy implementation of the same model.
        let expect = [0.084_296_45f32, 0.057_953_68, 0.004_493_38, 0.105_821_1, 0.007_083_42];
        for (a, b) in v[0].iter().zip(expect) {
            assert!((a - b).abs() < 1e-4, "{:?}", &v[0][..5]);
        }
        assert!(cosine(&v[1], &v[2]) > cosine(&v[1], &v[3]) + 0.2);
        assert!(e.word_pieces("kalibr") > 1 && e.word_pieces("robot") == 1);
        let again = e.embed_one("What graphics card do I need?").unwrap();
        assert!(cosine(&again, &v[1]) > 0.9999);
    }
}
