"""Generated questions: a Russian question,answer,document file from your own documents and an OpenAI-compatible LLM."""
