from spacy_bert_ner.cli import app

if __name__ == "__main__":
    app()
