"""More well-known PyTorch programs run on ember with only their imports changed.

A companion to ``test_pytorch_tutorials.py``: each test transcribes one program as PyTorch users write it
(a Vision Transformer from scratch, the char-RNN name classifier, the nn.TransformerEncoder language
model, pytorch/examples' VAE, stochastic weight averaging, gradient checkpointing, spectral-norm GANs,
LBFGS on an input image, a 3-D CNN and a CTC-trained CRNN): same structure, idioms and API calls, with
smaller sizes, few steps and generated data instead of downloads. Each body is a function taking the
library's modules, so the same body runs on ember and, where it is cheap, on real torch (the ``torch``
fixture), started from the same weights copied through ``state_dict``; the first losses are compared.
"""
from __future__ import annotations

import math
import time

import numpy as np
import pytest


def _ember():
    import ember
    import ember.nn
    import ember.nn.functional
    import ember.optim
    import ember.utils.data  # noqa: F401

    return ember, ember.nn, ember.nn.functional, ember.optim


def _torch(torch):
    import torch.nn
    import torch.nn.functional
    import torch.optim
    import torch.utils.data  # noqa: F401

    return torch, torch.nn, torch.nn.functional, torch.optim


def _numpy_state(model) -> dict:
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def _load_numpy_state(torch, model, state) -> None:
    model.load_state_dict({k: torch.tensor(v) for k, v in state.items()})


# ------------------------------------------------------------------------------------------------------------
# 1. A Vision Transformer from scratch (patch embedding by a strided conv, class token, nn.TransformerEncoder)
# ------------------------------------------------------------------------------------------------------------
def _vit_program(torch, nn, F, optim, data, state=None, steps=12):
    x_all, y_all = (torch.tensor(a) for a in data)

    class PatchEmbedding(nn.Module):
        def __init__(self, img_size, patch_size, in_channels, embed_dim):
            super().__init__()
            self.patch_size = patch_size
            self.n_patches = (img_size // patch_size) ** 2
            self.proj = nn.Conv2d(in_channels, embed_dim, kernel_size=patch_size, stride=patch_size)

        def forward(self, x):
            x = self.proj(x)        # (B, E, H/P, W/P)
            x = x.flatten(2)        # (B, E, N)
            x = x.transpose(1, 2)   # (B, N, E)
            return x

    class VisionTransformer(nn.Module):
        def __init__(self, img_size=28, patch_size=7, in_channels=1, num_classes=10, dim=32, depth=2,
                     heads=4, mlp_dim=64, dropout=0.1):
            super().__init__()
            self.patch_embed = PatchEmbedding(img_size, patch_size, in_channels, dim)
            num_patches = self.patch_embed.n_patches
            self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
            self.pos_embedding = nn.Parameter(torch.zeros(1, num_patches + 1, dim))
            self.pos_drop = nn.Dropout(p=dropout)
            encoder_layer = nn.TransformerEncoderLayer(dim, heads, mlp_dim, dropout, activation="gelu",
                                                       batch_first=True, norm_first=True)
            self.transformer = nn.TransformerEncoder(encoder_layer, depth)
            self.norm = nn.LayerNorm(dim)
            self.head = nn.Linear(dim, num_classes)
            nn.init.trunc_normal_(self.pos_embedding, std=0.02)
            nn.init.trunc_normal_(self.cls_token, std=0.02)
            self.apply(self._init_weights)

        def _init_weights(self, m):
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

        def forward(self, x):
            B = x.shape[0]
            x = self.patch_embed(x)
            cls_tokens = self.cls_token.expand(B, -1, -1)
            x = torch.cat((cls_tokens, x), dim=1)
            x = x + self.pos_embedding
            x = self.pos_drop(x)
            x = self.transformer(x)
            x = self.norm(x)
            return self.head(x[:, 0])

    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    # dropout=0 so that the two libraries compute the same function; the architecture is the tutorial's
    model = VisionTransformer(dropout=0.0).to(device)
    if state is not None:
        _load_numpy_state(torch, model, state)
    initial = _numpy_state(model)
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)

    train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_all, y_all), batch_size=16,
                                               shuffle=False)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    optimizer = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)

    losses, norms, lrs = [], [], []
    model.train()
    for epoch in range(steps):
        for images, labels in train_loader:
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad()
            outputs = model(images)
            loss = criterion(outputs, labels)
            loss.backward()
            norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)))
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])

    model.eval()
    correct = total = 0
    with torch.no_grad():
        for images, labels in train_loader:
            _, predicted = model(images).max(1)
            total += labels.size(0)
            correct += predicted.eq(labels).sum().item()
    return {"losses": losses, "norms": norms, "lrs": lrs, "accuracy": correct / total, "initial": initial,
            "n_params": n_params, "keys": list(model.state_dict()), "out_shape": tuple(outputs.shape)}


def _vit_data(n=32):
    """MNIST-like 28x28 images whose class is a 7x7 stroke pattern of its own at a position of its own."""
    rng = np.random.default_rng(1)
    templates = (rng.random((10, 7, 7)) > 0.5).astype(np.float32)
    y = rng.integers(0, 10, n).astype(np.int64)
    x = (rng.random((n, 1, 28, 28)) * 0.2).astype(np.float32)
    for i, c in enumerate(y):
        r, q = divmod(int(c), 4)
        x[i, 0, 7 * r: 7 * r + 7, 7 * q: 7 * q + 7] = templates[c]
    return x, y


def test_vision_transformer_from_scratch():
    got = _vit_program(*_ember(), _vit_data())
    assert got["out_shape"] == (16, 10)
    assert all(np.isfinite(got["losses"])) and all(np.isfinite(got["norms"]))
    assert np.mean(got["losses"][-2:]) < 0.8 * np.mean(got["losses"][:2])
    assert got["accuracy"] > 0.5  # ten classes: chance is 0.1
    assert got["lrs"][-1] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
def test_vision_transformer_from_scratch_matches_torch(torch):
    ours = _vit_program(*_ember(), _vit_data())
    theirs = _vit_program(*_torch(torch), _vit_data(), state=ours["initial"])
    assert ours["keys"] == theirs["keys"] and ours["n_params"] == theirs["n_params"]
    np.testing.assert_allclose(ours["losses"][:6], theirs["losses"][:6], rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(ours["norms"][:6], theirs["norms"][:6], rtol=2e-3)
    np.testing.assert_allclose(ours["lrs"], theirs["lrs"], rtol=1e-6, atol=1e-12)


# ------------------------------------------------------------------------------------------------------------
# 2. "NLP From Scratch: Classifying Names with a Character-Level RNN", as the current tutorial writes it
#    (nn.RNN over one-hot letters, batches of summed per-name losses) and modernised with a packed nn.LSTM
# ------------------------------------------------------------------------------------------------------------
def _names_data(n_per_language=12):
    """Names from three made-up languages, each with syllables of its own (in place of data/names/*.txt)."""
    import random

    syllables = {"Elvish": ["ae", "lin", "dor", "iel", "thra", "nd"],
                 "Dwarvish": ["gim", "kh", "zul", "brak", "um", "dûr"],
                 "Hobbit": ["bag", "gins", "bo", "fro", "sam", "wise"]}
    rnd = random.Random(3)
    data = []
    for language, parts in syllables.items():
        for _ in range(n_per_language):
            name = "".join(rnd.choice(parts) for _ in range(rnd.randint(1, 3)))
            data.append((name.capitalize(), language))
    rnd.shuffle(data)
    return data


def _char_rnn_program(torch, nn, F, optim, names, states=None):
    import random
    import string
    import unicodedata

    allowed_characters = string.ascii_letters + " .,;'"
    n_letters = len(allowed_characters)

    # Turn a Unicode string to plain ASCII, thanks to https://stackoverflow.com/a/518232/2809427
    def unicodeToAscii(s):
        return ''.join(
            c for c in unicodedata.normalize('NFD', s)
            if unicodedata.category(c) != 'Mn'
            and c in allowed_characters
        )

    # Find letter index from all_letters, e.g. "a" = 0
    def letterToIndex(letter):
        return allowed_characters.find(letter)

    # Turn a line into a <line_length x 1 x n_letters>,
    # or an array of one-hot letter vectors
    def lineToTensor(line):
        tensor = torch.zeros(len(line), 1, n_letters)
        for li, letter in enumerate(line):
            tensor[li][0][letterToIndex(letter)] = 1
        return tensor

    class NamesDataset(torch.utils.data.Dataset):
        def __init__(self, pairs):
            self.data, self.data_tensors, self.labels, self.labels_tensors = [], [], [], []
            labels_set = set()
            for name, label in pairs:
                labels_set.add(label)
                self.data.append(unicodeToAscii(name))
                self.data_tensors.append(lineToTensor(unicodeToAscii(name)))
                self.labels.append(label)
            self.labels_uniq = sorted(labels_set)
            for idx in range(len(self.labels)):
                temp_tensor = torch.tensor([self.labels_uniq.index(self.labels[idx])], dtype=torch.long)
                self.labels_tensors.append(temp_tensor)

        def __len__(self):
            return len(self.data)

        def __getitem__(self, idx):
            return self.labels_tensors[idx], self.data_tensors[idx], self.labels[idx], self.data[idx]

    alldata = NamesDataset(names)

    class CharRNN(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super(CharRNN, self).__init__()
            self.rnn = nn.RNN(input_size, hidden_size)
            self.h2o = nn.Linear(hidden_size, output_size)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, line_tensor):
            rnn_out, hidden = self.rnn(line_tensor)
            output = self.h2o(hidden[0])
            output = self.softmax(output)
            return output

    torch.manual_seed(0)
    n_hidden = 16
    rnn = CharRNN(n_letters, n_hidden, len(alldata.labels_uniq))
    if states is not None:
        _load_numpy_state(torch, rnn, states["rnn"])
    rnn_initial = _numpy_state(rnn)

    def label_from_output(output, output_labels):
        top_n, top_i = output.topk(1)
        label_i = top_i[0].item()
        return output_labels[label_i], label_i

    first_guess = label_from_output(rnn(lineToTensor('Albert')), alldata.labels_uniq)

    def train(rnn, training_data, n_epoch=10, n_batch_size=64, report_every=50, learning_rate=0.2,
              criterion=nn.NLLLoss()):
        current_loss = 0
        all_losses = []
        rnn.train()
        optimizer = torch.optim.SGD(rnn.parameters(), lr=learning_rate)
        shuffler = random.Random(0)  # random.shuffle in the tutorial; seeded so both libraries see one order
        for iter in range(1, n_epoch + 1):
            rnn.zero_grad()  # clear the gradients
            # create some minibatches
            # we cannot use dataloaders because each of our names is a different length
            batches = list(range(len(training_data)))
            shuffler.shuffle(batches)
            batches = np.array_split(batches, len(batches) // n_batch_size)
            for idx, batch in enumerate(batches):
                batch_loss = 0
                for i in batch:  # for each example in this batch
                    (label_tensor, text_tensor, label, text) = training_data[i]
                    output = rnn.forward(text_tensor)
                    loss = criterion(output, label_tensor)
                    batch_loss += loss
                # optimize parameters
                batch_loss.backward()
                nn.utils.clip_grad_norm_(rnn.parameters(), 3)
                optimizer.step()
                optimizer.zero_grad()
                current_loss += batch_loss.item() / len(batch)
            all_losses.append(current_loss / len(batches))
            current_loss = 0
        return all_losses

    rnn_losses = train(rnn, alldata, n_epoch=6, n_batch_size=12, learning_rate=0.1)

    def evaluate(rnn, testing_data, classes):
        confusion = torch.zeros(len(classes), len(classes))
        rnn.eval()  # set to eval mode
        with torch.no_grad():  # do not record the gradients during eval phase
            for i in range(len(testing_data)):
                (label_tensor, text_tensor, label, text) = testing_data[i]
                output = rnn(text_tensor)
                guess, guess_i = label_from_output(output, classes)
                label_i = classes.index(label)
                confusion[label_i][guess_i] += 1
        return confusion

    confusion = evaluate(rnn, alldata, alldata.labels_uniq)
    rnn_accuracy = confusion.diag().sum().item() / confusion.sum().item()

    # ---- the same task with batches: one-hot letters padded, packed and run through an LSTM
    pack_padded_sequence, pad_sequence = nn.utils.rnn.pack_padded_sequence, nn.utils.rnn.pad_sequence

    class CharLSTM(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super().__init__()
            self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
            self.fc = nn.Linear(hidden_size, output_size)

        def forward(self, x, lengths):
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            _, (h_n, c_n) = self.lstm(packed)
            return F.log_softmax(self.fc(h_n[-1]), dim=1)

    def collate(batch):
        labels = torch.cat([label_tensor for label_tensor, _, _, _ in batch])
        seqs = [F.one_hot(torch.tensor([letterToIndex(c) for c in text]), n_letters).float()
                for _, _, _, text in batch]
        lengths = torch.tensor([len(s) for s in seqs])
        return pad_sequence(seqs, batch_first=True), lengths, labels

    loader = torch.utils.data.DataLoader(alldata, batch_size=12, shuffle=False, collate_fn=collate)
    lstm = CharLSTM(n_letters, n_hidden, len(alldata.labels_uniq))
    if states is not None:
        _load_numpy_state(torch, lstm, states["lstm"])
    lstm_initial = _numpy_state(lstm)
    criterion = nn.NLLLoss()
    optimizer = optim.Adam(lstm.parameters(), lr=0.02)
    lstm_losses = []
    padded_shape = None
    for epoch in range(8):
        for padded, lengths, labels in loader:
            padded_shape = padded_shape or tuple(padded.shape)
            optimizer.zero_grad()
            loss = criterion(lstm(padded, lengths), labels)
            loss.backward()
            optimizer.step()
            lstm_losses.append(loss.item())
    lstm.eval()
    with torch.no_grad():
        correct = sum((lstm(p, n).argmax(1) == y).sum().item() for p, n, y in loader)
    return {"rnn_losses": rnn_losses, "rnn_accuracy": rnn_accuracy, "first_guess": first_guess,
            "lstm_losses": lstm_losses, "lstm_accuracy": correct / len(alldata), "padded_shape": padded_shape,
            "classes": alldata.labels_uniq, "states": {"rnn": rnn_initial, "lstm": lstm_initial},
            "keys": (list(rnn_initial), list(lstm_initial))}


def test_char_rnn_name_classification():
    got = _char_rnn_program(*_ember(), _names_data())
    assert got["classes"] == ["Dwarvish", "Elvish", "Hobbit"]
    assert got["first_guess"][0] in got["classes"]
    assert got["padded_shape"][0] == 12 and got["padded_shape"][2] == 57
    assert got["rnn_losses"][-1] < 0.8 * got["rnn_losses"][0]
    assert np.mean(got["lstm_losses"][-3:]) < 0.4 * np.mean(got["lstm_losses"][:3])
    assert got["rnn_accuracy"] > 0.6 and got["lstm_accuracy"] > 0.8  # three classes: chance is 1/3


def test_char_rnn_name_classification_matches_torch(torch):
    ours = _char_rnn_program(*_ember(), _names_data())
    theirs = _char_rnn_program(*_torch(torch), _names_data(), states=ours["states"])
    assert ours["keys"] == theirs["keys"] and ours["padded_shape"] == theirs["padded_shape"]
    assert ours["first_guess"] == theirs["first_guess"]
    np.testing.assert_allclose(ours["rnn_losses"], theirs["rnn_losses"], rtol=1e-4)
    np.testing.assert_allclose(ours["lstm_losses"][:6], theirs["lstm_losses"][:6], rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------------------------------------------
# 3. "Language Modeling with nn.Transformer and torchtext" (nn.TransformerEncoder, PositionalEncoding)
# ------------------------------------------------------------------------------------------------------------
def _tiny_corpus():
    """Lines of a small, regular made-up language (in place of WikiText2)."""
    import random

    rnd = random.Random(7)
    subjects, verbs, objects = ["the cat", "a dog", "the bird", "my friend"], ["sees", "likes", "eats"], \
        ["the fish", "a ball", "some bread", "the moon"]
    lines = []
    for _ in range(110):
        lines.append(f"{rnd.choice(subjects)} {rnd.choice(verbs)} {rnd.choice(objects)} .")
        if rnd.random() < 0.1:
            lines.append("")  # WikiText has empty lines, which data_process filters out
    return lines


def _transformer_lm_program(torch, nn, F, optim, corpus, tmpdir, state=None, dropout=0.2, epochs=3):
    import os
    from collections import Counter

    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

    class TransformerModel(nn.Module):

        def __init__(self, ntoken: int, d_model: int, nhead: int, d_hid: int,
                     nlayers: int, dropout: float = 0.5):
            super().__init__()
            self.model_type = 'Transformer'
            self.pos_encoder = PositionalEncoding(d_model, dropout)
            encoder_layers = nn.TransformerEncoderLayer(d_model, nhead, d_hid, dropout)
            self.transformer_encoder = nn.TransformerEncoder(encoder_layers, nlayers)
            self.embedding = nn.Embedding(ntoken, d_model)
            self.d_model = d_model
            self.linear = nn.Linear(d_model, ntoken)

            self.init_weights()

        def init_weights(self) -> None:
            initrange = 0.1
            self.embedding.weight.data.uniform_(-initrange, initrange)
            self.linear.bias.data.zero_()
            self.linear.weight.data.uniform_(-initrange, initrange)

        def forward(self, src, src_mask=None):
            """
            Arguments:
                src: Tensor, shape ``[seq_len, batch_size]``
                src_mask: Tensor, shape ``[seq_len, seq_len]``

            Returns:
                output Tensor of shape ``[seq_len, batch_size, ntoken]``
            """
            src = self.embedding(src) * math.sqrt(self.d_model)
            src = self.pos_encoder(src)
            if src_mask is None:
                """Generate a square causal mask for the sequence. The masked positions are filled with float('-inf').
                Unmasked positions are filled with float(0.0).
                """
                src_mask = nn.Transformer.generate_square_subsequent_mask(len(src)).to(device)
            output = self.transformer_encoder(src, src_mask)
            output = self.linear(output)
            return output

    class PositionalEncoding(nn.Module):

        def __init__(self, d_model: int, dropout: float = 0.1, max_len: int = 5000):
            super().__init__()
            self.dropout = nn.Dropout(p=dropout)

            position = torch.arange(max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
            pe = torch.zeros(max_len, 1, d_model)
            pe[:, 0, 0::2] = torch.sin(position * div_term)
            pe[:, 0, 1::2] = torch.cos(position * div_term)
            self.register_buffer('pe', pe)

        def forward(self, x):
            """
            Arguments:
                x: Tensor, shape ``[seq_len, batch_size, embedding_dim]``
            """
            x = x + self.pe[:x.size(0)]
            return self.dropout(x)

    # torchtext's basic_english tokenizer and build_vocab_from_iterator, by hand
    def tokenizer(line):
        return line.lower().split()

    counter = Counter(tok for line in corpus for tok in tokenizer(line))
    itos = ['<unk>'] + sorted(counter, key=lambda t: (-counter[t], t))
    stoi = {t: i for i, t in enumerate(itos)}

    def vocab(tokens):
        return [stoi.get(t, 0) for t in tokens]

    def data_process(raw_text_iter):
        """Converts raw text into a flat Tensor."""
        data = [torch.tensor(vocab(tokenizer(item)), dtype=torch.long) for item in raw_text_iter]
        return torch.cat(tuple(filter(lambda t: t.numel() > 0, data)))

    split = int(0.8 * len(corpus))
    train_data = data_process(corpus[:split])
    val_data = data_process(corpus[split:])

    def batchify(data, bsz: int):
        """Divides the data into ``bsz`` separate sequences, removing extra elements
        that wouldn't cleanly fit.

        Arguments:
            data: Tensor, shape ``[N]``
            bsz: int, batch size

        Returns:
            Tensor of shape ``[N // bsz, bsz]``
        """
        seq_len = data.size(0) // bsz
        data = data[:seq_len * bsz]
        data = data.view(bsz, seq_len).t().contiguous()
        return data.to(device)

    batch_size = 4
    eval_batch_size = 2
    train_data = batchify(train_data, batch_size)  # shape ``[seq_len, batch_size]``
    val_data = batchify(val_data, eval_batch_size)

    bptt = 10

    def get_batch(source, i: int):
        """
        Args:
            source: Tensor, shape ``[full_seq_len, batch_size]``
            i: int

        Returns:
            tuple (data, target), where data has shape ``[seq_len, batch_size]`` and
            target has shape ``[seq_len * batch_size]``
        """
        seq_len = min(bptt, len(source) - 1 - i)
        data = source[i:i+seq_len]
        target = source[i+1:i+1+seq_len].reshape(-1)
        return data, target

    ntokens = len(itos)  # size of vocabulary
    emsize = 32  # embedding dimension
    d_hid = 64  # dimension of the feedforward network model in ``nn.TransformerEncoder``
    nlayers = 2  # number of ``nn.TransformerEncoderLayer`` in ``nn.TransformerEncoder``
    nhead = 2  # number of heads in ``nn.MultiheadAttention``
    torch.manual_seed(0)
    model = TransformerModel(ntokens, emsize, nhead, d_hid, nlayers, dropout).to(device)
    if state is not None:
        _load_numpy_state(torch, model, state)
    initial = _numpy_state(model)

    criterion = nn.CrossEntropyLoss()
    lr = 1.0  # learning rate (5.0 in the tutorial, for WikiText2)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.95)

    step_losses, logged = [], []

    def train(model: nn.Module) -> None:
        model.train()  # turn on train mode
        total_loss = 0.
        log_interval = 5
        start_time = time.time()

        num_batches = len(train_data) // bptt
        for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
            data, targets = get_batch(train_data, i)
            output = model(data)
            output_flat = output.view(-1, ntokens)
            loss = criterion(output_flat, targets)

            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            optimizer.step()

            total_loss += loss.item()
            step_losses.append(loss.item())
            if batch % log_interval == 0 and batch > 0:
                lr = scheduler.get_last_lr()[0]
                ms_per_batch = (time.time() - start_time) * 1000 / log_interval
                cur_loss = total_loss / log_interval
                ppl = math.exp(cur_loss)
                logged.append((epoch, batch, lr, ppl))
                print(f'| epoch {epoch:3d} | {batch:5d}/{num_batches:5d} batches | '
                      f'lr {lr:02.2f} | ms/batch {ms_per_batch:5.2f} | '
                      f'loss {cur_loss:5.2f} | ppl {ppl:8.2f}')
                total_loss = 0
                start_time = time.time()

    def evaluate(model: nn.Module, eval_data) -> float:
        model.eval()  # turn on evaluation mode
        total_loss = 0.
        with torch.no_grad():
            for i in range(0, eval_data.size(0) - 1, bptt):
                data, targets = get_batch(eval_data, i)
                seq_len = data.size(0)
                output = model(data)
                output_flat = output.view(-1, ntokens)
                total_loss += seq_len * criterion(output_flat, targets).item()
        return total_loss / (len(eval_data) - 1)

    best_val_loss = float('inf')
    val_losses = [evaluate(model, val_data)]
    lrs = []
    best_model_params_path = os.path.join(tmpdir, "best_model_params.pt")
    for epoch in range(1, epochs + 1):
        epoch_start_time = time.time()
        train(model)
        val_loss = evaluate(model, val_data)
        val_ppl = math.exp(val_loss)
        val_losses.append(val_loss)
        elapsed = time.time() - epoch_start_time
        print('-' * 89)
        print(f'| end of epoch {epoch:3d} | time: {elapsed:5.2f}s | '
              f'valid loss {val_loss:5.2f} | valid ppl {val_ppl:8.2f}')
        print('-' * 89)

        if val_loss < best_val_loss:
            best_val_loss = val_loss
            torch.save(model.state_dict(), best_model_params_path)

        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    model.load_state_dict(torch.load(best_model_params_path))  # load best model states
    restored = evaluate(model, val_data)
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    return {"step_losses": step_losses, "val_losses": val_losses, "best": best_val_loss, "restored": restored,
            "lrs": lrs, "logged": logged, "initial": initial, "keys": list(initial), "ntokens": ntokens,
            "shapes": (tuple(train_data.shape), tuple(val_data.shape), tuple(model.pos_encoder.pe.shape)),
            "buffers": [name for name, _ in model.named_buffers()], "mask": mask.numpy().tolist()}


def test_transformer_language_model_tutorial(tmp_path, capsys):
    got = _transformer_lm_program(*_ember(), _tiny_corpus(), str(tmp_path))
    assert got["buffers"] == ["pos_encoder.pe"] and got["shapes"][2] == (5000, 1, 32)
    assert "pos_encoder.pe" in got["keys"]
    inf = float("-inf")
    assert got["mask"] == [[0.0, inf, inf, inf], [0.0, 0.0, inf, inf], [0.0, 0.0, 0.0, inf], [0.0, 0.0, 0.0, 0.0]]
    assert all(np.isfinite(got["step_losses"]))
    assert np.mean(got["step_losses"][-5:]) < 0.6 * np.mean(got["step_losses"][:3])
    assert got["val_losses"][-1] < 0.6 * got["val_losses"][0]
    assert math.exp(got["best"]) < 0.5 * got["ntokens"]  # perplexity well below a uniform guess
    assert got["restored"] == pytest.approx(got["best"], rel=1e-5)
    assert got["lrs"] == [pytest.approx(0.95 ** k) for k in (1, 2, 3)]
    assert "valid ppl" in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
def test_transformer_language_model_tutorial_matches_torch(torch, tmp_path):
    (tmp_path / "ember").mkdir()
    (tmp_path / "torch").mkdir()
    ours = _transformer_lm_program(*_ember(), _tiny_corpus(), str(tmp_path / "ember"), dropout=0.0)
    theirs = _transformer_lm_program(*_torch(torch), _tiny_corpus(), str(tmp_path / "torch"),
                                     state=ours["initial"], dropout=0.0)
    assert ours["keys"] == theirs["keys"] and ours["shapes"] == theirs["shapes"]
    assert ours["buffers"] == theirs["buffers"] and ours["mask"] == theirs["mask"]
    np.testing.assert_allclose(ours["val_losses"][0], theirs["val_losses"][0], rtol=1e-5)
    np.testing.assert_allclose(ours["step_losses"][:8], theirs["step_losses"][:8], rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(ours["lrs"], theirs["lrs"], rtol=1e-6)


def test_steplr_float_step_size_as_in_transformer_tutorial():
    """The tutorial writes StepLR(optimizer, 1.0, gamma=0.95): a whole-number float step size is accepted."""
    import ember as torch
    import ember.nn as nn
    import ember.optim  # noqa: F401

    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=5.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.95)
    for _ in range(2):
        optimizer.step()
        scheduler.step()
    assert scheduler.get_last_lr() == [pytest.approx(5.0 * 0.95 ** 2)]


# ------------------------------------------------------------------------------------------------------------
# 4. pytorch/examples: vae/main.py, and the same VAE written with torch.distributions
# ------------------------------------------------------------------------------------------------------------
def _vae_images(n=160):
    """MNIST-like images in [0, 1]: a bright bar, horizontal or vertical, at a random place."""
    rng = np.random.default_rng(2)
    x = np.zeros((n, 1, 28, 28), np.float32)
    for i in range(n):
        a, w = rng.integers(2, 22), rng.integers(3, 7)
        if i % 2:
            x[i, 0, a:a + w, 4:24] = 1.0
        else:
            x[i, 0, 4:24, a:a + w] = 1.0
    return x


def _vae_program(torch, nn, F, optim, images, results=None, save_image=None, state=None,
                 variant="examples", epochs=4):
    """``results``: a folder for save_image's PNGs (skipped when save_image is None)."""
    x_all = torch.tensor(images)
    dataset = torch.utils.data.TensorDataset(x_all, torch.zeros(len(x_all), dtype=torch.long))
    train_set = torch.utils.data.Subset(dataset, range(128))
    test_set = torch.utils.data.Subset(dataset, range(128, len(x_all)))
    batch_size = 32
    kwargs = {'batch_size': batch_size}
    train_loader = torch.utils.data.DataLoader(train_set, shuffle=True, **kwargs)
    test_loader = torch.utils.data.DataLoader(test_set, shuffle=False, **kwargs)
    device = torch.device("cpu")
    hidden, latent = 64, 8  # 400 and 20 in the example

    class VAE(nn.Module):
        def __init__(self):
            super(VAE, self).__init__()

            self.fc1 = nn.Linear(784, hidden)
            self.fc21 = nn.Linear(hidden, latent)
            self.fc22 = nn.Linear(hidden, latent)
            self.fc3 = nn.Linear(latent, hidden)
            self.fc4 = nn.Linear(hidden, 784)

        def encode(self, x):
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def reparameterize(self, mu, logvar):
            std = torch.exp(0.5*logvar)
            eps = torch.randn_like(std)
            return mu + eps*std

        def decode(self, z):
            h3 = F.relu(self.fc3(z))
            return torch.sigmoid(self.fc4(h3))

        def forward(self, x):
            mu, logvar = self.encode(x.view(-1, 784))
            z = self.reparameterize(mu, logvar)
            return self.decode(z), mu, logvar

    class DistributionsVAE(VAE):
        """The common rewrite: the posterior is a torch.distributions.Normal, sampled with rsample()."""

        def forward(self, x):
            mu, logvar = self.encode(x.view(-1, 784))
            q_z = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
            z = q_z.rsample()
            return self.decode(z), q_z, z

    torch.manual_seed(1)
    model = (VAE() if variant == "examples" else DistributionsVAE()).to(device)
    if state is not None:
        _load_numpy_state(torch, model, state)
    initial = _numpy_state(model)
    optimizer = optim.Adam(model.parameters(), lr=3e-3)

    # Reconstruction + KL divergence losses summed over all elements and batch
    def loss_function(recon_x, x, mu, logvar):
        BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction='sum')

        # see Appendix B from VAE paper:
        # Kingma and Welling. Auto-Encoding Variational Bayes. ICLR, 2014
        # https://arxiv.org/abs/1312.6114
        # 0.5 * sum(1 + log(sigma^2) - mu^2 - sigma^2)
        KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())

        return BCE + KLD

    def elbo_loss(recon_x, x, q_z, z):
        p_z = torch.distributions.Normal(torch.zeros_like(z), torch.ones_like(z))
        BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction='sum')
        KLD = torch.distributions.kl_divergence(q_z, p_z).sum()
        return BCE + KLD

    def step_loss(data):
        if variant == "examples":
            recon_batch, mu, logvar = model(data)
            return loss_function(recon_batch, data, mu, logvar), recon_batch
        recon_batch, q_z, z = model(data)
        return elbo_loss(recon_batch, data, q_z, z), recon_batch

    # a deterministic check (z = mu) both libraries can agree on, from the initial weights
    data0 = x_all[:8]
    mu0, logvar0 = model.encode(data0.view(-1, 784))
    q0 = torch.distributions.Normal(mu0, torch.exp(0.5 * logvar0))
    closed_form = loss_function(model.decode(mu0), data0, mu0, logvar0)
    via_distributions = elbo_loss(model.decode(mu0), data0, q0, mu0)
    closed_form.backward()
    deterministic = (closed_form.item(), via_distributions.item(),
                     float(torch.nn.utils.clip_grad_norm_(model.parameters(), float('inf'))),
                     q0.log_prob(mu0).sum().item(), q0.entropy().sum().item())
    model.zero_grad()

    def train(epoch):
        model.train()
        train_loss = 0
        for batch_idx, (data, _) in enumerate(train_loader):
            data = data.to(device)
            optimizer.zero_grad()
            loss, _ = step_loss(data)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
            if batch_idx % 2 == 0:
                print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                    epoch, batch_idx * len(data), len(train_loader.dataset),
                    100. * batch_idx / len(train_loader),
                    loss.item() / len(data)))

        print('====> Epoch: {} Average loss: {:.4f}'.format(
              epoch, train_loss / len(train_loader.dataset)))
        return train_loss / len(train_loader.dataset)

    def test(epoch):
        model.eval()
        test_loss = 0
        with torch.no_grad():
            for i, (data, _) in enumerate(test_loader):
                data = data.to(device)
                loss, recon_batch = step_loss(data)
                test_loss += loss.item()
                if i == 0 and save_image is not None:
                    n = min(data.size(0), 8)
                    comparison = torch.cat([data[:n],
                                            recon_batch.view(batch_size, 1, 28, 28)[:n]])
                    save_image(comparison.cpu(),
                               results + '/reconstruction_' + str(epoch) + '.png', nrow=n)

        test_loss /= len(test_loader.dataset)
        print('====> Test set loss: {:.4f}'.format(test_loss))
        return test_loss

    train_losses, test_losses = [], [test(0)]
    for epoch in range(1, epochs + 1):
        train_losses.append(train(epoch))
        test_losses.append(test(epoch))
        with torch.no_grad():
            sample = torch.randn(64, latent).to(device)
            sample = model.decode(sample).cpu()
            if save_image is not None:
                save_image(sample.view(64, 1, 28, 28),
                           results + '/sample_' + str(epoch) + '.png')
    return {"train": train_losses, "test": test_losses, "deterministic": deterministic, "initial": initial,
            "sample_shape": tuple(sample.shape)}


@pytest.mark.parametrize("variant", ["examples", "distributions"])
def test_pytorch_examples_vae(variant, tmp_path, capsys):
    from ember.vision.utils import save_image

    got = _vae_program(*_ember(), _vae_images(), str(tmp_path), save_image, variant=variant)
    assert got["sample_shape"] == (64, 784)
    assert all(np.isfinite(got["train"])) and all(np.isfinite(got["test"]))
    assert got["train"][-1] < 0.7 * got["train"][0] and got["test"][-1] < 0.7 * got["test"][0]
    closed_form, via_distributions = got["deterministic"][:2]
    assert via_distributions == pytest.approx(closed_form, rel=1e-5)  # analytic KL == kl_divergence
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"reconstruction_{e}.png" for e in range(5)] + [f"sample_{e}.png" for e in range(1, 5)])
    assert "====> Test set loss" in capsys.readouterr().out


def test_pytorch_examples_vae_matches_torch(torch):
    ours = _vae_program(*_ember(), _vae_images(), epochs=1)
    theirs = _vae_program(*_torch(torch), _vae_images(), state=ours["initial"], epochs=1)
    np.testing.assert_allclose(ours["deterministic"], theirs["deterministic"], rtol=2e-5)
    np.testing.assert_allclose(ours["test"][0], theirs["test"][0], rtol=0.05)  # sampled z: close, not equal


# ------------------------------------------------------------------------------------------------------------
# 5. Stochastic Weight Averaging (the PyTorch blog post and the torch.optim docs), and an EMA model
# ------------------------------------------------------------------------------------------------------------
def _swa_data(n=96):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((n, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 3, n).astype(np.int64)
    for i, c in enumerate(y):
        x[i, 0, 2 * c: 2 * c + 3, 2 * c: 2 * c + 3] += 3.0
    return x, y


def _swa_program(torch, nn, F, optim, data, state=None, epochs=10, swa_start=5):
    # from torch.optim.swa_utils import AveragedModel, SWALR, get_ema_multi_avg_fn
    AveragedModel, SWALR, get_ema_multi_avg_fn = (torch.optim.swa_utils.AveragedModel,
                                                  torch.optim.swa_utils.SWALR,
                                                  torch.optim.swa_utils.get_ema_multi_avg_fn)
    x, y = (torch.tensor(a) for a in data)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))
    if state is not None:
        _load_numpy_state(torch, model, state)
    initial = _numpy_state(model)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    swa_model = AveragedModel(model)
    ema_model = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.999))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    swa_scheduler = SWALR(optimizer, swa_lr=0.05, anneal_epochs=2, anneal_strategy="cos")

    def params(m):
        return [p.detach().numpy().astype(np.float64) for p in m.parameters()]

    swa_snapshots, ema_snapshots, losses, lrs = [], [], [], []
    for epoch in range(epochs):
        for input, target in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(input), target)
            loss.backward()
            optimizer.step()
            ema_model.update_parameters(model)
            ema_snapshots.append(params(model))
            losses.append(loss.item())
        if epoch > swa_start:
            swa_model.update_parameters(model)
            swa_snapshots.append(params(model))
            swa_scheduler.step()
        else:
            scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])

    # the statistics training left in the copy are the model's last ones; update_bn recomputes them
    bn = swa_model.module[1]
    copied_mean = bn.running_mean.numpy().copy()
    seen = []
    handle = bn.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach().numpy().copy()))
    torch.optim.swa_utils.update_bn(loader, swa_model)
    handle.remove()
    torch.optim.swa_utils.update_bn(loader, ema_model)

    swa_model.eval()
    with torch.no_grad():
        preds = swa_model(x).argmax(1)
    return {
        "losses": losses, "lrs": lrs, "initial": initial, "n_averaged": int(swa_model.n_averaged),
        "ema_n": int(ema_model.n_averaged), "swa": params(swa_model.module), "ema": params(ema_model),
        "swa_snapshots": swa_snapshots, "ema_snapshots": ema_snapshots, "copied_mean": copied_mean,
        "model_mean": model[1].running_mean.numpy().copy(), "bn_inputs": seen,
        "bn_stats": (bn.running_mean.numpy().copy(), bn.running_var.numpy().copy(),
                     int(bn.num_batches_tracked)), "momentum": bn.momentum,
        "accuracy": (preds == y).float().mean().item(), "training": swa_model.training,
        "keys": list(swa_model.state_dict()),
    }


def test_stochastic_weight_averaging_and_ema():
    got = _swa_program(*_ember(), _swa_data())
    assert got["n_averaged"] == 4 and got["ema_n"] == 30
    assert got["keys"][0] == "n_averaged" and got["keys"][1] == "module.0.weight"
    # the SWA weights are the mean of the snapshots taken
    for avg, *snaps in zip(got["swa"], *got["swa_snapshots"]):
        np.testing.assert_allclose(avg, np.mean(snaps, axis=0), rtol=1e-5, atol=1e-6)
    assert any(np.abs(a - s).max() > 1e-3 for a, s in zip(got["swa"], got["swa_snapshots"][-1]))
    # the EMA: the first update copies, the others move by (1 - decay) towards the model
    expected = [p.copy() for p in got["ema_snapshots"][0]]
    for snap in got["ema_snapshots"][1:]:
        expected = [e + 0.001 * (s - e) for e, s in zip(expected, snap)]
    for avg, e, first in zip(got["ema"], expected, got["ema_snapshots"][0]):
        np.testing.assert_allclose(avg, e, rtol=1e-4, atol=1e-7)
    assert any(np.abs(a - f).max() > 1e-5 for a, f in zip(got["ema"], got["ema_snapshots"][0]))
    # update_bn recomputed the statistics: a cumulative average of the batch statistics, momentum put back
    np.testing.assert_array_equal(got["copied_mean"], got["model_mean"])
    batches = got["bn_inputs"]
    assert len(batches) == 3
    mean, var, tracked = got["bn_stats"]
    np.testing.assert_allclose(mean, np.mean([b.mean(axis=(0, 2, 3)) for b in batches], axis=0), atol=1e-5)
    np.testing.assert_allclose(var, np.mean([b.var(axis=(0, 2, 3), ddof=1) for b in batches], axis=0),
                               rtol=1e-4)
    assert not np.allclose(mean, got["copied_mean"], atol=1e-3)
    assert tracked == 3 and got["momentum"] == 0.1
    # learning rates: cosine until swa_start, then annealed to swa_lr by SWALR
    assert got["lrs"][-2:] == [pytest.approx(0.05)] * 2 and got["lrs"][-4] != pytest.approx(0.05)
    assert np.mean(got["losses"][-3:]) < 0.6 * np.mean(got["losses"][:3])
    assert got["accuracy"] > 0.7 and not got["training"]


def test_stochastic_weight_averaging_and_ema_match_torch(torch):
    ours = _swa_program(*_ember(), _swa_data())
    theirs = _swa_program(*_torch(torch), _swa_data(), state=ours["initial"])
    assert ours["keys"] == theirs["keys"]
    assert (ours["n_averaged"], ours["ema_n"]) == (theirs["n_averaged"], theirs["ema_n"])
    np.testing.assert_allclose(ours["lrs"], theirs["lrs"], rtol=1e-6)
    np.testing.assert_allclose(ours["losses"][:6], theirs["losses"][:6], rtol=1e-4, atol=1e-5)
    assert [b.shape for b in ours["bn_inputs"]] == [b.shape for b in theirs["bn_inputs"]]
    for a, b in zip(ours["swa"] + ours["ema"], theirs["swa"] + theirs["ema"]):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    for a, b in zip(ours["bn_stats"][:2], theirs["bn_stats"][:2]):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    assert ours["bn_stats"][2] == theirs["bn_stats"][2] and ours["momentum"] == theirs["momentum"]


# ------------------------------------------------------------------------------------------------------------
# 6. Gradient checkpointing: torch.utils.checkpoint.checkpoint per residual block, and checkpoint_sequential
# ------------------------------------------------------------------------------------------------------------
def _checkpointing_program(torch, nn, F, optim, data, state=None, p_drop=0.1):
    # from torch.utils.checkpoint import checkpoint, checkpoint_sequential
    checkpoint = torch.utils.checkpoint.checkpoint
    checkpoint_sequential = torch.utils.checkpoint.checkpoint_sequential
    x, y = (torch.tensor(a) for a in data)

    class ResidualBlock(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.net = nn.Sequential(
                nn.LayerNorm(dim), nn.Linear(dim, 4 * dim), nn.GELU(), nn.Dropout(p_drop), nn.Linear(4 * dim, dim))

        def forward(self, x):
            return x + self.net(x)

    class DeepMLP(nn.Module):
        def __init__(self, in_dim=12, dim=32, depth=6, use_checkpoint=False):
            super().__init__()
            self.stem = nn.Linear(in_dim, dim)
            self.blocks = nn.ModuleList([ResidualBlock(dim) for _ in range(depth)])
            self.head = nn.Linear(dim, 1)
            self.use_checkpoint = use_checkpoint

        def forward(self, x):
            x = F.relu(self.stem(x))
            for block in self.blocks:
                if self.use_checkpoint and self.training:
                    x = checkpoint(block, x, use_reentrant=False)
                else:
                    x = block(x)
            return self.head(x).squeeze(-1)

    torch.manual_seed(0)
    model = DeepMLP()
    if state is not None:
        _load_numpy_state(torch, model, state)
    initial = _numpy_state(model)

    def grads_of(run):
        model.zero_grad()
        torch.manual_seed(123)  # the same dropout masks for every variant
        inp = x[:16].clone().requires_grad_(True)
        loss = F.mse_loss(run(inp), y[:16])
        loss.backward()
        return loss.item(), [p.grad.numpy().copy() for p in model.parameters()], inp.grad.numpy().copy()

    model.train()
    model.use_checkpoint = False
    plain = grads_of(model)
    model.use_checkpoint = True
    checkpointed = grads_of(model)
    model.use_checkpoint = False

    # the same network as one nn.Sequential, checkpointed in segments
    seq = nn.Sequential(model.stem, nn.ReLU(), *model.blocks)

    def run_sequential(inp):
        out = checkpoint_sequential(seq, 3, inp, use_reentrant=False)
        return model.head(out).squeeze(-1)

    sequential = grads_of(run_sequential)
    params_with_grad = sum(p.grad is not None for p in model.parameters())

    # and training with checkpointing on
    model.use_checkpoint = True
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
    losses = []
    for epoch in range(6):
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss = F.mse_loss(model(inputs), targets)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return {"plain": plain, "checkpointed": checkpointed, "sequential": sequential, "losses": losses,
            "initial": initial, "params_with_grad": params_with_grad,
            "n_params": len(list(model.parameters()))}


def _checkpointing_data(n=64):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((n, 12)).astype(np.float32)
    y = (np.sin(x[:, 0]) + x[:, 1] * x[:, 2]).astype(np.float32)
    return x, y


def _assert_same_grads(a, b, rtol=1e-5, atol=1e-7):
    assert a[0] == pytest.approx(b[0], rel=1e-6)
    for ga, gb in zip(a[1], b[1]):
        np.testing.assert_allclose(ga, gb, rtol=rtol, atol=atol)
    np.testing.assert_allclose(a[2], b[2], rtol=rtol, atol=atol)


def test_gradient_checkpointing():
    got = _checkpointing_program(*_ember(), _checkpointing_data())
    assert got["params_with_grad"] == got["n_params"]
    _assert_same_grads(got["plain"], got["checkpointed"])
    _assert_same_grads(got["plain"], got["sequential"])
    assert np.mean(got["losses"][-4:]) < 0.5 * np.mean(got["losses"][:4])


def test_gradient_checkpointing_matches_torch(torch):
    data = _checkpointing_data()
    ours = _checkpointing_program(*_ember(), data, p_drop=0.0)
    theirs = _checkpointing_program(*_torch(torch), data, state=ours["initial"], p_drop=0.0)
    _assert_same_grads(theirs["plain"], theirs["checkpointed"])
    for key in ("plain", "checkpointed", "sequential"):
        _assert_same_grads(ours[key], theirs[key], rtol=2e-4, atol=1e-6)
    np.testing.assert_allclose(ours["losses"][:8], theirs["losses"][:8], rtol=2e-4, atol=1e-6)


# ------------------------------------------------------------------------------------------------------------
# 7. A DCGAN whose discriminator is spectrally normalised (SN-GAN), with both spectral_norm APIs
# ------------------------------------------------------------------------------------------------------------
def _sngan_program(torch, nn, F, optim, data, api, states=None, steps=6, nz=8, ngf=8, ndf=8, nc=1):
    real_images, noises = data
    sn = nn.utils.spectral_norm if api == "old" else nn.utils.parametrizations.spectral_norm

    class Generator(nn.Module):
        def __init__(self):
            super(Generator, self).__init__()
            self.main = nn.Sequential(
                nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False),
                nn.BatchNorm2d(ngf * 2),
                nn.ReLU(True),
                # state size. ``(ngf*2) x 4 x 4``
                nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf),
                nn.ReLU(True),
                # state size. ``(ngf) x 8 x 8``
                nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
                nn.Tanh()
                # state size. ``(nc) x 16 x 16``
            )

        def forward(self, input):
            return self.main(input)

    class Discriminator(nn.Module):
        def __init__(self):
            super(Discriminator, self).__init__()
            self.main = nn.Sequential(
                # input is ``(nc) x 16 x 16``
                sn(nn.Conv2d(nc, ndf, 4, 2, 1, bias=False)),
                nn.LeakyReLU(0.2, inplace=True),
                # state size. ``(ndf) x 8 x 8``
                sn(nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False)),
                nn.LeakyReLU(0.2, inplace=True),
                # state size. ``(ndf*2) x 4 x 4``
                sn(nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False)),
                nn.Sigmoid()
            )

        def forward(self, input):
            return self.main(input)

    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find('Conv') != -1:
            m.weight.data.normal_(0.0, 0.02)
        elif classname.find('BatchNorm') != -1:
            nn.init.normal_(m.weight.data, 1.0, 0.02)
            nn.init.constant_(m.bias.data, 0)

    torch.manual_seed(0)
    netG = Generator()
    netG.apply(weights_init)
    netD = Discriminator()
    netD.apply(weights_init)  # a no-op on the spectrally normalised weights, as in torch
    if states is not None:
        _load_numpy_state(torch, netG, states["G"])
        _load_numpy_state(torch, netD, states["D"])
    initial = {"G": _numpy_state(netG), "D": _numpy_state(netD)}

    criterion = nn.BCELoss()
    real_label, fake_label = 1., 0.
    optimizerD = optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    dataloader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(real_images)),
                                             batch_size=8)
    G_losses, D_losses, D_x, D_G_z = [], [], [], []
    iters = 0
    while iters < steps:
        for i, data in enumerate(dataloader, 0):
            ############################
            # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
            ###########################
            netD.zero_grad()
            real_cpu = data[0]
            b_size = real_cpu.size(0)
            label = torch.full((b_size,), real_label, dtype=torch.float)
            noise = torch.tensor(noises[iters])  # torch.randn(b_size, nz, 1, 1) in the tutorial
            fake = netG(noise)
            # D on real and fake in the same step, both losses backpropagated together
            output_real = netD(real_cpu).view(-1)
            errD_real = criterion(output_real, label)
            output_fake = netD(fake.detach()).view(-1)
            errD_fake = criterion(output_fake, torch.full((b_size,), fake_label, dtype=torch.float))
            errD = errD_real + errD_fake
            errD.backward()
            optimizerD.step()

            ############################
            # (2) Update G network: maximize log(D(G(z)))
            ###########################
            netG.zero_grad()
            label.fill_(real_label)  # fake labels are real for generator cost
            output = netD(fake).view(-1)
            errG = criterion(output, label)
            errG.backward()
            optimizerG.step()

            G_losses.append(errG.item())
            D_losses.append(errD.item())
            D_x.append(output_real.mean().item())
            D_G_z.append(output.mean().item())
            iters += 1
            if iters >= steps:
                break

    conv = netD.main[0]
    weight = conv.weight.detach().numpy().reshape(ndf, -1)
    netD.eval()
    with torch.no_grad():
        eval_out = netD(real_cpu).view(-1).numpy().copy()
    return {"G_losses": G_losses, "D_losses": D_losses, "D_x": D_x, "D_G_z": D_G_z, "initial": initial,
            "sigma": float(np.linalg.svd(weight, compute_uv=False)[0]), "eval_out": eval_out,
            "keys": list(initial["D"]), "params": [n for n, _ in netD.named_parameters()],
            "d_grads": all(p.grad is not None for p in netD.parameters())}


def _sngan_data(steps=6, nz=8):
    rng = np.random.default_rng(8)
    real = np.tanh(rng.standard_normal((32, 1, 16, 16))).astype(np.float32)
    noises = [rng.standard_normal((8, nz, 1, 1)).astype(np.float32) for _ in range(steps)]
    return real, noises


@pytest.mark.parametrize("api", ["old", "parametrizations"])
def test_spectral_norm_gan(api):
    got = _sngan_program(*_ember(), _sngan_data(), api)
    assert len(got["G_losses"]) == 6 and got["d_grads"]
    for key in ("G_losses", "D_losses", "D_x", "D_G_z"):
        assert all(np.isfinite(got[key])), key
    assert all(0 < v < 1 for v in got["D_x"] + got["D_G_z"])
    assert got["sigma"] == pytest.approx(1.0, abs=0.1)  # the weight D uses is spectrally normalised
    if api == "old":
        assert got["keys"] == ["main.0.weight_orig", "main.0.weight_u", "main.0.weight_v",
                               "main.2.weight_orig", "main.2.weight_u", "main.2.weight_v",
                               "main.4.weight_orig", "main.4.weight_u", "main.4.weight_v"]
    else:
        assert got["keys"][:3] == ["main.0.parametrizations.weight.original",
                                   "main.0.parametrizations.weight.0._u", "main.0.parametrizations.weight.0._v"]


@pytest.mark.parametrize("api", ["old", "parametrizations"])
def test_spectral_norm_gan_matches_torch(api, torch):
    data = _sngan_data()
    ours = _sngan_program(*_ember(), data, api)
    theirs = _sngan_program(*_torch(torch), data, api, states=ours["initial"])
    assert ours["keys"] == theirs["keys"] and ours["params"] == theirs["params"]
    for key in ("D_losses", "G_losses", "D_x", "D_G_z"):
        np.testing.assert_allclose(ours[key], theirs[key], rtol=2e-4, atol=1e-5, err_msg=key)
    np.testing.assert_allclose(ours["sigma"], theirs["sigma"], rtol=1e-4)
    np.testing.assert_allclose(ours["eval_out"], theirs["eval_out"], rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------------------------------------------------
# 8. "Neural Transfer Using PyTorch" (LBFGS on the input image through a frozen conv net), and LBFGS curve fitting
# ------------------------------------------------------------------------------------------------------------
def _style_images(size=16):
    rng = np.random.default_rng(9)
    yy, xx = np.mgrid[0:size, 0:size] / size
    content = np.stack([xx, yy, 0.5 * (xx + yy)])[None].astype(np.float32)          # smooth ramps
    style = (0.5 + 0.5 * np.sin(8 * np.pi * np.stack([xx, yy, xx * yy])))[None]     # stripes
    style = np.clip(style + 0.05 * rng.standard_normal(style.shape), 0, 1).astype(np.float32)
    return content, style


def _style_transfer_program(torch, nn, F, optim, images, state=None, num_lbfgs_steps=2, max_iter=20):
    content_np, style_np = images
    content_img, style_img = torch.tensor(content_np), torch.tensor(style_np)

    torch.manual_seed(0)
    # a small stand-in for ``models.vgg19(weights=models.VGG19_Weights.DEFAULT).features.eval()``
    cnn = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2),
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(inplace=True)).eval()
    if state is not None:
        _load_numpy_state(torch, cnn, state)
    initial = _numpy_state(cnn)

    class ContentLoss(nn.Module):

        def __init__(self, target,):
            super(ContentLoss, self).__init__()
            # we 'detach' the target content from the tree used
            # to dynamically compute the gradient: this is a stated value,
            # not a variable. Otherwise the forward method of the criterion
            # will throw an error.
            self.target = target.detach()

        def forward(self, input):
            self.loss = F.mse_loss(input, self.target)
            return input

    def gram_matrix(input):
        a, b, c, d = input.size()  # a=batch size(=1)
        # b=number of feature maps
        # (c,d)=dimensions of a f. map (N=c*d)

        features = input.view(a * b, c * d)  # resize F_XL into \hat F_XL

        G = torch.mm(features, features.t())  # compute the gram product

        # we 'normalize' the values of the gram matrix
        # by dividing by the number of element in each feature maps.
        return G.div(a * b * c * d)

    class StyleLoss(nn.Module):

        def __init__(self, target_feature):
            super(StyleLoss, self).__init__()
            self.target = gram_matrix(target_feature).detach()

        def forward(self, input):
            G = gram_matrix(input)
            self.loss = F.mse_loss(G, self.target)
            return input

    cnn_normalization_mean = torch.tensor([0.485, 0.456, 0.406])
    cnn_normalization_std = torch.tensor([0.229, 0.224, 0.225])

    # create a module to normalize input image so we can easily put it in a
    # ``nn.Sequential``
    class Normalization(nn.Module):
        def __init__(self, mean, std):
            super(Normalization, self).__init__()
            # .view the mean and std to make them [C x 1 x 1] so that they can
            # directly work with image Tensor of shape [B x C x H x W].
            # B is batch size. C is number of channels. H is height and W is width.
            self.mean = torch.tensor(mean).view(-1, 1, 1)
            self.std = torch.tensor(std).view(-1, 1, 1)

        def forward(self, img):
            # normalize ``img``
            return (img - self.mean) / self.std

    # desired depth layers to compute style/content losses :
    content_layers_default = ['conv_4']
    style_layers_default = ['conv_1', 'conv_2', 'conv_3', 'conv_4', 'conv_5']

    def get_style_model_and_losses(cnn, normalization_mean, normalization_std,
                                   style_img, content_img,
                                   content_layers=content_layers_default,
                                   style_layers=style_layers_default):
        # normalization module
        normalization = Normalization(normalization_mean, normalization_std)

        # just in order to have an iterable access to or list of content/style
        # losses
        content_losses = []
        style_losses = []

        # assuming that ``cnn`` is a ``nn.Sequential``, so we make a new ``nn.Sequential``
        # to put in modules that are supposed to be activated sequentially
        model = nn.Sequential(normalization)

        i = 0  # increment every time we see a conv
        for layer in cnn.children():
            if isinstance(layer, nn.Conv2d):
                i += 1
                name = 'conv_{}'.format(i)
            elif isinstance(layer, nn.ReLU):
                name = 'relu_{}'.format(i)
                # The in-place version doesn't play very nicely with the ``ContentLoss``
                # and ``StyleLoss`` we insert below. So we replace with out-of-place
                # ones here.
                layer = nn.ReLU(inplace=False)
            elif isinstance(layer, nn.MaxPool2d):
                name = 'pool_{}'.format(i)
            elif isinstance(layer, nn.BatchNorm2d):
                name = 'bn_{}'.format(i)
            else:
                raise RuntimeError('Unrecognized layer: {}'.format(layer.__class__.__name__))

            model.add_module(name, layer)

            if name in content_layers:
                # add content loss:
                target = model(content_img).detach()
                content_loss = ContentLoss(target)
                model.add_module("content_loss_{}".format(i), content_loss)
                content_losses.append(content_loss)

            if name in style_layers:
                # add style loss:
                target_feature = model(style_img).detach()
                style_loss = StyleLoss(target_feature)
                model.add_module("style_loss_{}".format(i), style_loss)
                style_losses.append(style_loss)

        # now we trim off the layers after the last content and style losses
        for i in range(len(model) - 1, -1, -1):
            if isinstance(model[i], ContentLoss) or isinstance(model[i], StyleLoss):
                break

        model = model[:(i + 1)]

        return model, style_losses, content_losses

    input_img = content_img.clone()

    def get_input_optimizer(input_img):
        # this line to show that input is a parameter that requires a gradient
        optimizer = optim.LBFGS([input_img.requires_grad_()], max_iter=max_iter)  # 20: the default
        return optimizer

    scores = []

    def run_style_transfer(cnn, normalization_mean, normalization_std,
                           content_img, style_img, input_img, num_steps=300,
                           style_weight=1000000, content_weight=1):
        """Run the style transfer."""
        print('Building the style transfer model..')
        model, style_losses, content_losses = get_style_model_and_losses(cnn,
            normalization_mean, normalization_std, style_img, content_img)  # noqa: E128

        # We want to optimize the input and not the model parameters so we
        # update all the requires_grad fields accordingly
        input_img.requires_grad_(True)
        # We also put the model in evaluation mode, so that specific layers
        # such as dropout or batch normalization layers behave correctly.
        model.eval()
        model.requires_grad_(False)

        optimizer = get_input_optimizer(input_img)

        print('Optimizing..')
        run = [0]
        step_losses = []
        while len(step_losses) < num_steps:

            def closure():
                # correct the values of updated input image
                input_img.data.clamp_(0, 1)

                optimizer.zero_grad()
                model(input_img)
                style_score = 0
                content_score = 0

                for sl in style_losses:
                    style_score += sl.loss
                for cl in content_losses:
                    content_score += cl.loss

                style_score *= style_weight
                content_score *= content_weight

                loss = style_score + content_score
                loss.backward()

                run[0] += 1
                scores.append((style_score.item(), content_score.item()))
                if run[0] % 10 == 0:
                    print("run {}:".format(run))
                    print('Style Loss : {:4f} Content Loss: {:4f}'.format(
                        style_score.item(), content_score.item()))
                    print()

                return style_score + content_score

            step_losses.append(optimizer.step(closure).item())

        # a last correction...
        with torch.no_grad():
            input_img.clamp_(0, 1)

        return input_img, model, run[0], step_losses

    output, model, evaluations, step_losses = run_style_transfer(
        cnn, cnn_normalization_mean, cnn_normalization_std, content_img, style_img, input_img,
        num_steps=num_lbfgs_steps, style_weight=1000)
    with torch.no_grad():
        model(output)
        final = sum(1000 * sl.loss.item() for sl in model.children() if isinstance(sl, StyleLoss)) + \
            sum(cl.loss.item() for cl in model.children() if isinstance(cl, ContentLoss))

    # ---- curve fitting with LBFGS and a strong-Wolfe line search: y = a * sin(b * x + c)
    x = torch.linspace(-3, 3, 50)
    y = 1.5 * torch.sin(0.8 * x + 0.3)
    params = torch.tensor([1.0, 1.0, 0.0], requires_grad=True)
    curve_opt = torch.optim.LBFGS([params], lr=1, max_iter=50, line_search_fn="strong_wolfe")

    def curve_closure():
        curve_opt.zero_grad()
        loss = ((params[0] * torch.sin(params[1] * x + params[2]) - y) ** 2).mean()
        loss.backward()
        return loss

    curve_losses = [curve_opt.step(curve_closure).item() for _ in range(3)]
    return {"names": [n for n, _ in model.named_children()], "evaluations": evaluations,
            "step_losses": step_losses, "final": final, "scores": scores, "initial": initial,
            "in_range": (output.min().item(), output.max().item()), "cnn_frozen": not any(
                p.requires_grad for p in cnn.parameters()), "cnn_grads": [p.grad for p in cnn.parameters()],
            "output_requires_grad": output.requires_grad, "curve": (curve_losses, params.detach().numpy().copy())}


def test_neural_style_transfer_lbfgs_tutorial(capsys):
    got = _style_transfer_program(*_ember(), _style_images(), num_lbfgs_steps=2)
    assert got["names"] == ["0", "conv_1", "style_loss_1", "relu_1", "conv_2", "style_loss_2", "relu_2", "pool_2",
                            "conv_3", "style_loss_3", "relu_3", "conv_4", "content_loss_4", "style_loss_4",
                            "relu_4", "pool_4", "conv_5", "style_loss_5"]
    assert got["cnn_frozen"] and all(g is None for g in got["cnn_grads"]) and got["output_requires_grad"]
    assert 2 < got["evaluations"] <= 40 and len(got["step_losses"]) == 2
    assert 0.0 <= got["in_range"][0] and got["in_range"][1] <= 1.0
    first = sum(got["scores"][0])
    assert got["final"] < 0.3 * first
    curve_losses, params = got["curve"]
    assert curve_losses[-1] < 1e-6 < curve_losses[0]
    np.testing.assert_allclose(params, [1.5, 0.8, 0.3], atol=1e-3)
    assert "Style Loss" in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore:To copy construct from a tensor")
def test_neural_style_transfer_lbfgs_tutorial_matches_torch(torch):
    images = _style_images()
    ours = _style_transfer_program(*_ember(), images, num_lbfgs_steps=2)
    theirs = _style_transfer_program(*_torch(torch), images, state=ours["initial"], num_lbfgs_steps=2)
    assert ours["names"] == theirs["names"] and ours["evaluations"] == theirs["evaluations"]
    # 20 iterations a step through clamp_ amplify float32 rounding (torch against itself with the image
    # perturbed by 1e-7 drifts as much), so the default run is compared over its first evaluations ...
    np.testing.assert_allclose(ours["scores"][:6], theirs["scores"][:6], rtol=2e-4, atol=1e-9)
    np.testing.assert_allclose(ours["curve"][1], theirs["curve"][1], atol=1e-4)
    # ... and the loss after two LBFGS steps of three iterations each is compared outright
    ours = _style_transfer_program(*_ember(), images, num_lbfgs_steps=2, max_iter=3)
    theirs = _style_transfer_program(*_torch(torch), images, state=ours["initial"], num_lbfgs_steps=2, max_iter=3)
    assert ours["evaluations"] == theirs["evaluations"] and ours["final"] < 0.8 * ours["step_losses"][0]
    np.testing.assert_allclose(ours["step_losses"], theirs["step_losses"], rtol=1e-4)
    np.testing.assert_allclose(ours["final"], theirs["final"], rtol=1e-4)


# ------------------------------------------------------------------------------------------------------------
# 9. A 3-D CNN video classifier with a LazyLinear head, and an OCR CRNN trained with CTC
# ------------------------------------------------------------------------------------------------------------
def _video_data(n=32, frames=8, size=16):
    """Clips as torchvision's video datasets give them, (T, H, W, C) uint8: a bright square moving
    right, left, down or up; the class is the direction (a single frame cannot tell)."""
    rng = np.random.default_rng(10)
    videos = rng.integers(0, 40, size=(n, frames, size, size, 3)).astype(np.uint8)
    labels = np.arange(n) % 4
    for i, c in enumerate(labels):
        r0, c0 = rng.integers(4, 9, 2)
        for t in range(frames):
            dr, dc = [(0, 1), (0, -1), (1, 0), (-1, 0)][c]
            r, q = r0 + dr * (t - frames // 2), c0 + dc * (t - frames // 2)
            videos[i, t, max(r, 0):max(r + 4, 0), max(q, 0):max(q + 4, 0), :] = 255
    return videos, labels.astype(np.int64)


def _video_program(torch, nn, F, optim, data, state=None, p_drop=0.5, epochs=5):
    videos, labels = data

    class VideoClassifier(nn.Module):
        def __init__(self, num_classes=4):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv3d(3, 8, kernel_size=3, padding=1),
                nn.BatchNorm3d(8),
                nn.ReLU(inplace=True),
                nn.MaxPool3d(kernel_size=(1, 2, 2), stride=(1, 2, 2)),
                nn.Conv3d(8, 16, kernel_size=3, padding=1),
                nn.BatchNorm3d(16),
                nn.ReLU(inplace=True),
                nn.MaxPool3d(kernel_size=2, stride=2),
                nn.AdaptiveAvgPool3d((1, 1, 1)),
            )
            self.classifier = nn.Sequential(
                nn.Flatten(),
                nn.Dropout(p_drop),
                nn.LazyLinear(num_classes),
            )

        def forward(self, x):
            return self.classifier(self.features(x))

    torch.manual_seed(0)
    model = VideoClassifier()
    lazy_before = type(model.classifier[2]).__name__
    model(torch.zeros(1, 3, 8, 16, 16))  # dry run: materialises the LazyLinear before building the optimizer
    lazy_after = (type(model.classifier[2]).__name__, tuple(model.classifier[2].weight.shape))
    if state is not None:
        _load_numpy_state(torch, model, state)
    initial = _numpy_state(model)

    x = torch.from_numpy(videos).permute(0, 4, 1, 2, 3).float() / 255.0  # (N, C, T, H, W)
    y = torch.from_numpy(labels)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for epoch in range(epochs):
        model.train()
        for clips, targets in loader:
            optimizer.zero_grad()
            loss = criterion(model(clips), targets)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        accuracy = (model(x).argmax(dim=1) == y).float().mean().item()
    return {"losses": losses, "accuracy": accuracy, "initial": initial, "lazy": (lazy_before, lazy_after),
            "input_shape": tuple(x.shape), "keys": list(initial)}


def test_3d_cnn_video_classifier():
    got = _video_program(*_ember(), _video_data())
    assert got["lazy"] == ("LazyLinear", ("Linear", (4, 16)))
    assert got["input_shape"] == (32, 3, 8, 16, 16)
    assert "features.1.running_mean" in got["keys"] and "classifier.2.weight" in got["keys"]
    assert np.mean(got["losses"][-4:]) < 0.5 * np.mean(got["losses"][:4])
    assert got["accuracy"] > 0.7  # four directions: chance is 1/4


def test_3d_cnn_video_classifier_matches_torch(torch):
    data = _video_data()
    ours = _video_program(*_ember(), data, p_drop=0.0, epochs=1)
    theirs = _video_program(*_torch(torch), data, state=ours["initial"], p_drop=0.0, epochs=1)
    assert ours["lazy"] == theirs["lazy"] and ours["keys"] == theirs["keys"]
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=2e-4, atol=1e-5)


def _ocr_data(n=48, height=16, width=32, n_chars=5):
    """Text-line images: 1-4 'characters' (fixed 16x6 glyphs, one per class 1..n_chars) side by side."""
    rng = np.random.default_rng(11)
    glyphs = (rng.random((n_chars + 1, height, 6)) > 0.55).astype(np.float32)
    images = (rng.random((n, 1, height, width)) * 0.1).astype(np.float32)
    texts = []
    for i in range(n):
        text = list(rng.integers(1, n_chars + 1, rng.integers(1, 5)))
        for k, ch in enumerate(text):
            images[i, 0, :, 1 + 7 * k: 7 + 7 * k] = glyphs[ch]
        texts.append([int(c) for c in text])
    return images, texts


def _crnn_program(torch, nn, F, optim, data, state=None, epochs=20, n_chars=5):
    images, texts = data

    class CRNN(nn.Module):
        def __init__(self, img_height=16, num_classes=n_chars + 1, hidden_size=32):
            super(CRNN, self).__init__()
            self.cnn = nn.Sequential(
                nn.Conv2d(1, 16, kernel_size=3, stride=1, padding=1),
                nn.BatchNorm2d(16),
                nn.ReLU(True),
                nn.MaxPool2d(2, 2),                       # H/2 x W/2
                nn.Conv2d(16, 32, kernel_size=3, stride=1, padding=1),
                nn.BatchNorm2d(32),
                nn.ReLU(True),
                nn.MaxPool2d(kernel_size=(2, 1), stride=(2, 1)),  # H/4 x W/2
            )
            self.rnn = nn.LSTM(32 * (img_height // 4), hidden_size, num_layers=1, bidirectional=True)
            self.fc = nn.Linear(hidden_size * 2, num_classes)

        def forward(self, x):
            conv = self.cnn(x)
            b, c, h, w = conv.size()
            conv = conv.view(b, c * h, w)
            conv = conv.permute(2, 0, 1)  # [w, b, c*h] = (T, N, C)
            recurrent, _ = self.rnn(conv)
            output = self.fc(recurrent)   # (T, N, num_classes)
            return output.log_softmax(2)

    def collate(batch):
        imgs = torch.stack([img for img, _ in batch])
        targets = [torch.tensor(t, dtype=torch.long) for _, t in batch]
        target_lengths = torch.tensor([len(t) for t in targets], dtype=torch.long)
        return imgs, torch.cat(targets), target_lengths

    dataset = [(torch.tensor(img), text) for img, text in zip(images, texts)]
    loader = torch.utils.data.DataLoader(dataset, batch_size=16, shuffle=False, collate_fn=collate)

    torch.manual_seed(0)
    model = CRNN()
    if state is not None:
        _load_numpy_state(torch, model, state)
    initial = _numpy_state(model)
    criterion = nn.CTCLoss(blank=0, zero_infinity=True)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)

    def decode(log_probs):
        """Greedy CTC decoding: best path, repeats merged, blanks dropped."""
        best = log_probs.argmax(2).permute(1, 0)  # (N, T)
        out = []
        for seq in best.tolist():
            chars, prev = [], 0
            for s in seq:
                if s != prev and s != 0:
                    chars.append(s)
                prev = s
            out.append(chars)
        return out

    losses, shapes = [], None
    for epoch in range(epochs):
        model.train()
        for imgs, targets, target_lengths in loader:
            optimizer.zero_grad()
            log_probs = model(imgs)
            T, N, C = log_probs.shape
            shapes = shapes or (tuple(log_probs.shape), tuple(targets.shape))
            input_lengths = torch.full(size=(N,), fill_value=T, dtype=torch.long)
            loss = criterion(log_probs, targets, input_lengths, target_lengths)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5)
            optimizer.step()
            losses.append(loss.item())

    model.eval()
    with torch.no_grad():
        predictions = decode(model(torch.tensor(images)))
    exact = sum(p == t for p, t in zip(predictions, texts)) / len(texts)
    return {"losses": losses, "exact": exact, "shapes": shapes, "initial": initial, "keys": list(initial)}


def test_crnn_ctc_ocr():
    got = _crnn_program(*_ember(), _ocr_data())
    assert got["shapes"][0] == (16, 16, 6)  # (T, N, classes incl. blank)
    assert "rnn.weight_hh_l0_reverse" in got["keys"]
    assert all(np.isfinite(got["losses"]))
    assert np.mean(got["losses"][-3:]) < 0.3 * np.mean(got["losses"][:3])
    assert got["exact"] > 0.8  # whole lines read right by greedy decoding


def test_crnn_ctc_ocr_matches_torch(torch):
    data = _ocr_data()
    ours = _crnn_program(*_ember(), data, epochs=2)
    theirs = _crnn_program(*_torch(torch), data, state=ours["initial"], epochs=2)
    assert ours["keys"] == theirs["keys"] and ours["shapes"] == theirs["shapes"]
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=2e-4, atol=1e-5)
